using System;
using System.Globalization;
using System.IO;
using System.Threading;

namespace TaskLeak.Tracking;

/// <summary>
/// The static site tables the weaver embeds in each woven module. A module registers its table once (from its
/// generated type's static constructor) and receives a base id; a site id is that base plus the site's row.
/// Rows are parsed only when a report needs them.
/// </summary>
/// <remarks>
/// A table starts with a header record <c>TaskLeakSites:&lt;version&gt;</c>; this runtime reads version
/// <see cref="Version"/> and tables without a header (weavers before the header: rows start at record 0). A table it
/// cannot read (unknown version, row count not matching, null) is refused: its module gets <see cref="DisabledBase"/>,
/// which makes every site id of the module negative, and the hooks never track a negative site.
/// </remarks>
internal sealed class SiteRegistry
{
    internal const char FieldSeparator = '\u001F';
    internal const char RecordSeparator = '\n';
    internal const string HeaderPrefix = "TaskLeakSites:";
    internal const int Version = 1;

    /// <summary>The base of a refused table: base + row stays negative for any row.</summary>
    internal const int DisabledBase = int.MinValue;

    private readonly object _lock = new();
    private ModuleTable[] _modules = Array.Empty<ModuleTable>();
    private int _nextId = 1;

    /// <summary>Registers a module's table; returns its base, or <see cref="DisabledBase"/> with the reason in <paramref name="error"/>.</summary>
    internal int Register(string? table, int count, out string? error)
    {
        if (table is null || count < 0)
        {
            error = "the site table is " + (table is null ? "missing" : "of a negative size (" + count.ToString(CultureInfo.InvariantCulture) + ")");
            return DisabledBase;
        }

        int firstRecord = 0;
        if (table.StartsWith(HeaderPrefix, StringComparison.Ordinal))
        {
            int end = table.IndexOf(RecordSeparator);
            string version = end < 0 ? table.Substring(HeaderPrefix.Length) : table.Substring(HeaderPrefix.Length, end - HeaderPrefix.Length);
            if (version != "1")
            {
                error = "the site table has version " + version + "; this runtime reads version " +
                        Version.ToString(CultureInfo.InvariantCulture) + " (update the TaskLeak.Fody package of this module or of the application)";
                return DisabledBase;
            }

            firstRecord = 1;
        }

        int records = CountRecords(table) - firstRecord;
        if (count > 0 && records != count)
        {
            error = "the site table has " + records.ToString(CultureInfo.InvariantCulture) + " rows where its module declares " +
                    count.ToString(CultureInfo.InvariantCulture);
            return DisabledBase;
        }

        lock (_lock)
        {
            int first = _nextId;
            if (first > int.MaxValue - count)
            {
                error = "site ids are exhausted";
                return DisabledBase;
            }

            var modules = new ModuleTable[_modules.Length + 1];
            Array.Copy(_modules, modules, _modules.Length);
            modules[_modules.Length] = new ModuleTable(first, count, table, firstRecord);
            _nextId = first + count;

            // The table before the new limit: a reader that sees the limit finds the module.
            Volatile.Write(ref _modules, modules);
            error = null;
            return first;
        }
    }

    /// <summary>Parses every registered table now (reports parse a table the first time they need one of its rows).</summary>
    internal void ParseAll()
    {
        foreach (ModuleTable module in Volatile.Read(ref _modules))
        {
            _ = module.Get(0);
        }
    }

    /// <summary>One more than the largest site id handed out so far.</summary>
    internal int IdLimit => Volatile.Read(ref _nextId);

    internal SiteInfo Get(int id)
    {
        ModuleTable[] modules = Volatile.Read(ref _modules);
        foreach (ModuleTable module in modules)
        {
            if (id >= module.First && id < module.First + module.Count)
            {
                return module.Get(id - module.First);
            }
        }

        return SiteInfo.Unknown(id);
    }

    private static int CountRecords(string table)
    {
        if (table.Length == 0)
        {
            return 0;
        }

        int records = 1;
        for (int i = table.IndexOf(RecordSeparator); i >= 0; i = table.IndexOf(RecordSeparator, i + 1))
        {
            records++;
        }

        return records;
    }

    private sealed class ModuleTable
    {
        private readonly string _table;
        private readonly int _firstRecord;
        private SiteInfo[]? _rows;

        internal ModuleTable(int first, int count, string table, int firstRecord)
        {
            First = first;
            Count = count;
            _table = table;
            _firstRecord = firstRecord;
        }

        internal int First { get; }
        internal int Count { get; }

        internal SiteInfo Get(int row)
        {
            SiteInfo[] rows = Volatile.Read(ref _rows) ?? Parse();
            return row < rows.Length ? rows[row] : SiteInfo.Unknown(First + row);
        }

        private SiteInfo[] Parse()
        {
            var rows = new SiteInfo[Count];
            string[] records = _table.Split(RecordSeparator);
            for (int i = 0; i < rows.Length; i++)
            {
                int record = i + _firstRecord;
                rows[i] = record < records.Length ? SiteInfo.Parse(First + i, records[record]) : SiteInfo.Unknown(First + i);
            }

            Volatile.Write(ref _rows, rows);
            return rows;
        }
    }
}

/// <summary>
/// One static site: an await or a spawn call, as the weaver described it. Row fields, separated by
/// <see cref="SiteRegistry.FieldSeparator"/>: kind, method, source path, line, IL offset, target, detail, shape.
/// </summary>
internal sealed class SiteInfo
{
    private SiteInfo(int id, char kind, string method, string? sourcePath, int line, string ilOffset, string target, string detail, string shape)
    {
        IlOffset = ilOffset;
        Id = id;
        Kind = kind;
        Method = method;
        SourcePath = sourcePath;
        Line = line;
        Target = target;
        Detail = detail;
        Shape = shape;
    }

    internal int Id { get; }

    /// <summary><c>A</c> for an await site, <c>S</c> for a spawn site.</summary>
    internal char Kind { get; }
    internal string Method { get; }
    internal string? SourcePath { get; }
    internal int Line { get; }
    /// <summary>The await's IL offset in MoveNext (<c>IL_0040</c>), the location used when there are no symbols.</summary>
    internal string IlOffset { get; }

    /// <summary>The awaited expression as written (<c>TaskCompletionSource&lt;int&gt;.Task</c>), or the spawn API.</summary>
    internal string Target { get; }

    /// <summary>Where the code sits inside <see cref="Method"/>: <c>lambda</c>, <c>local function Name</c>, or empty.</summary>
    internal string Detail { get; }
    internal string Shape { get; }

    /// <summary><c>File.cs:line</c>, or the method and IL offset when the module had no symbols.</summary>
    internal string Location =>
        SourcePath is { Length: > 0 } && Line > 0
            ? Path.GetFileName(SourcePath) + ":" + Line.ToString(CultureInfo.InvariantCulture)
            : IlOffset.Length > 0 ? Method + "+" + IlOffset : Method;

    internal static SiteInfo Parse(int id, string record)
    {
        string[] f = record.Split(SiteRegistry.FieldSeparator);
        string Field(int i) => i < f.Length ? f[i] : "";
        int.TryParse(Field(3), NumberStyles.Integer, CultureInfo.InvariantCulture, out int line);
        string kind = Field(0);
        return new SiteInfo(
            id,
            kind.Length > 0 ? kind[0] : '?',
            Field(1).Length > 0 ? Field(1) : "<unknown method>",
            Field(2).Length > 0 ? Field(2) : null,
            line,
            Field(4),
            Field(5),
            Field(6),
            Field(7));
    }

    internal static SiteInfo Unknown(int id) =>
        new(id, '?', "<unknown site " + id.ToString(CultureInfo.InvariantCulture) + ">", null, 0, "", "", "", "");
}
