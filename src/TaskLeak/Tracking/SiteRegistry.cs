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
internal static class SiteRegistry
{
    internal const char FieldSeparator = '\u001F';
    internal const char RecordSeparator = '\n';

    private static readonly object s_lock = new();
    private static ModuleTable[] s_modules = Array.Empty<ModuleTable>();
    private static int s_nextId = 1;
    private static int[] s_captures = new int[64];
    private static byte[] s_rearms = new byte[64];

    /// <summary>How many times a site's first captures are granted again after stackless leaks.</summary>
    internal const int MaxRearms = 3;

    internal static int Register(string table, int count)
    {
        if (table is null || count < 0)
        {
            return 0;
        }

        lock (s_lock)
        {
            int first = s_nextId;
            var modules = new ModuleTable[s_modules.Length + 1];
            Array.Copy(s_modules, modules, s_modules.Length);
            modules[s_modules.Length] = new ModuleTable(first, count, table);
            s_nextId = first + count;
            if (s_nextId > s_captures.Length)
            {
                var captures = new int[Math.Max(s_captures.Length * 2, s_nextId)];
                Array.Copy(s_captures, captures, s_captures.Length);
                var rearms = new byte[captures.Length];
                Array.Copy(s_rearms, rearms, s_rearms.Length);
                Volatile.Write(ref s_rearms, rearms);
                Volatile.Write(ref s_captures, captures);
            }

            Volatile.Write(ref s_modules, modules);
            return first;
        }
    }

    /// <summary>One of a site's first <paramref name="perSite"/> stacks; racy on purpose (sampling tolerates lost counts).</summary>
    internal static bool TakeInitialCapture(int site, int perSite)
    {
        int[] captures = Volatile.Read(ref s_captures);
        if ((uint)site < (uint)captures.Length && captures[site] < perSite)
        {
            captures[site]++;
            return true;
        }

        return false;
    }

    /// <summary>
    /// A leak of an operation first suspended at <paramref name="site"/> was reported without a creation stack: the
    /// site's next few operations get one again (at most <see cref="MaxRearms"/> times per site), so that a leak that
    /// repeats is reported with its stack. Racy like the count itself.
    /// </summary>
    internal static void RearmCaptures(int site)
    {
        int[] captures = Volatile.Read(ref s_captures);
        byte[] rearms = Volatile.Read(ref s_rearms);
        if (site > 0 && (uint)site < (uint)captures.Length && (uint)site < (uint)rearms.Length && rearms[site] < MaxRearms)
        {
            rearms[site]++;
            captures[site] = 0;
        }
    }

    /// <summary>Parses every registered table now (reports parse a table the first time they need one of its rows).</summary>
    internal static void ParseAll()
    {
        foreach (ModuleTable module in Volatile.Read(ref s_modules))
        {
            _ = module.Get(0);
        }
    }

    /// <summary>One more than the largest site id handed out so far.</summary>
    internal static int IdLimit => Volatile.Read(ref s_nextId);

    internal static SiteInfo Get(int id)
    {
        ModuleTable[] modules = Volatile.Read(ref s_modules);
        foreach (ModuleTable module in modules)
        {
            if (id >= module.First && id < module.First + module.Count)
            {
                return module.Get(id - module.First);
            }
        }

        return SiteInfo.Unknown(id);
    }

    private sealed class ModuleTable
    {
        private readonly string _table;
        private SiteInfo[]? _rows;

        internal ModuleTable(int first, int count, string table)
        {
            First = first;
            Count = count;
            _table = table;
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
                rows[i] = i < records.Length ? SiteInfo.Parse(First + i, records[i]) : SiteInfo.Unknown(First + i);
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
