using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

public partial class ModuleWeaver
{
    internal const string SiteTableTypeName = "<TaskLeak>Sites";

    private bool IsAlreadyWoven() => ModuleDefinition.Types.Any(t => t.Name == SiteTableTypeName && t.Namespace.Length == 0);
}

/// <summary>One row of the site table: what a report will say about an await or spawn site.</summary>
internal sealed class SiteRow
{
    public char Kind { get; set; } = 'A';
    public string Method { get; set; } = "";
    public string? SourcePath { get; set; }
    public int Line { get; set; }
    public int IlOffset { get; set; }
    public string Target { get; set; } = "";
    public string Detail { get; set; } = "";
    public string Shape { get; set; } = "";
}

/// <summary>
/// The module's static site table, embedded as one string registered by a generated type's static constructor.
/// Woven code loads a site id as <c>Base + row</c>; after tier-up the JIT folds the static readonly base to a constant.
/// </summary>
internal sealed class SiteTable
{
    private const char FieldSeparator = '\u001F';
    private const char RecordSeparator = '\n';

    private readonly ModuleWeaver _weaver;
    private readonly HookReferences _hooks;
    private readonly List<SiteRow> _rows = new();
    private TypeDefinition? _type;
    private FieldDefinition? _base;

    internal SiteTable(ModuleWeaver weaver, HookReferences hooks)
    {
        _weaver = weaver;
        _hooks = hooks;
    }

    internal int Count => _rows.Count;

    internal IReadOnlyList<SiteRow> Rows => _rows;

    /// <summary>Adds a row; returns the instructions that push its site id.</summary>
    internal Instruction[] Add(SiteRow row)
    {
        int index = _rows.Count;
        _rows.Add(row);
        return new[]
        {
            Instruction.Create(OpCodes.Ldsfld, BaseField()),
            Instruction.Create(OpCodes.Ldc_I4, index),
            Instruction.Create(OpCodes.Add),
        };
    }

    internal void Emit()
    {
        if (_type is null)
        {
            return;
        }

        MethodDefinition cctor = _type.Methods.First(m => m.IsConstructor && m.IsStatic);
        ILProcessor il = cctor.Body.GetILProcessor();
        il.Emit(OpCodes.Ldstr, Serialize());
        il.Emit(OpCodes.Ldc_I4, _rows.Count);
        il.Emit(OpCodes.Call, _hooks.RegisterSites);
        il.Emit(OpCodes.Stsfld, _base);
        il.Emit(OpCodes.Ret);
    }

    private FieldDefinition BaseField()
    {
        if (_base is not null)
        {
            return _base;
        }

        ModuleDefinition module = _weaver.ModuleDefinition;
        _type = new TypeDefinition("", ModuleWeaver.SiteTableTypeName,
            TypeAttributes.NotPublic | TypeAttributes.Abstract | TypeAttributes.Sealed | TypeAttributes.BeforeFieldInit | TypeAttributes.Class,
            module.TypeSystem.Object);
        _base = new FieldDefinition("Base", FieldAttributes.Assembly | FieldAttributes.Static | FieldAttributes.InitOnly, _hooks.Int32);
        _type.Fields.Add(_base);
        var cctor = new MethodDefinition(".cctor",
            MethodAttributes.Private | MethodAttributes.Static | MethodAttributes.HideBySig | MethodAttributes.SpecialName | MethodAttributes.RTSpecialName,
            module.TypeSystem.Void);
        _type.Methods.Add(cctor);
        module.Types.Add(_type);
        return _base;
    }

    internal string Serialize()
    {
        // Header record first: the runtime reads version 1 and refuses (tracking off for the module, reported once) a
        // version it does not know; tables without a header are the rows alone.
        var text = new StringBuilder("TaskLeakSites:1");
        foreach (SiteRow row in _rows)
        {
            text.Append(RecordSeparator);
            text.Append(row.Kind).Append(FieldSeparator)
                .Append(Clean(row.Method)).Append(FieldSeparator)
                .Append(Clean(row.SourcePath ?? "")).Append(FieldSeparator)
                .Append(row.Line.ToString(CultureInfo.InvariantCulture)).Append(FieldSeparator)
                .Append("IL_").Append(row.IlOffset.ToString("x4", CultureInfo.InvariantCulture)).Append(FieldSeparator)
                .Append(Clean(row.Target)).Append(FieldSeparator)
                .Append(Clean(row.Detail)).Append(FieldSeparator)
                .Append(Clean(row.Shape));
        }

        return text.ToString();
    }

    private static string Clean(string value) => value.Replace(FieldSeparator, ' ').Replace(RecordSeparator, ' ').Replace('\r', ' ');
}
