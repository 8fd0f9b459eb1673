using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace LeakCorpus.Harness;

/// <summary>One scenario's results: both compilations, both detectors.</summary>
public sealed record CorpusRow(
    string Scenario,
    Expected Expected,
    IReadOnlyDictionary<string, Assessment> TaskLeak,
    IReadOnlyDictionary<string, Assessment>? Event27);

/// <summary>The Markdown tables the runner prints: one row per scenario, then totals per detector and compilation.</summary>
public static class CorpusTable
{
    /// <summary>The scenario table.</summary>
    public static string FormatRows(IReadOnlyList<CorpusRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| scenario | expected | TaskLeak Release / Debug | event 27 Release / Debug | TaskLeak names M L T C | event 27 names M L T C |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (CorpusRow row in rows)
        {
            text.Append("| ").Append(row.Scenario)
                .Append(" | ").Append(Describe(row.Expected))
                .Append(" | ").Append(Verdicts(row.TaskLeak))
                .Append(" | ").Append(row.Event27 is null ? "not run" : Verdicts(row.Event27))
                .Append(" | ").Append(Names(row.TaskLeak))
                .Append(" | ").Append(row.Event27 is null ? "" : Names(row.Event27))
                .AppendLine(" |");
        }

        return text.ToString();
    }

    /// <summary>Recall, false positives and report quality per detector and compilation.</summary>
    public static string FormatTotals(IReadOnlyList<CorpusRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| detector | compilation | provable leaks found (recall) | false positives | stalled tier | names method | await line | wait target | creation site |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (string compilation in CorpusCase.Compilations.Select(c => c.Name))
        {
            AppendTotals(text, "TaskLeak", compilation, rows, r => r.TaskLeak);
        }

        foreach (string compilation in CorpusCase.Compilations.Select(c => c.Name))
        {
            if (rows.Any(r => r.Event27 is not null))
            {
                AppendTotals(text, "event 27", compilation, rows, r => r.Event27);
            }
        }

        return text.ToString();
    }

    private static void AppendTotals(StringBuilder text, string detector, string compilation, IReadOnlyList<CorpusRow> rows,
        Func<CorpusRow, IReadOnlyDictionary<string, Assessment>?> select)
    {
        var leaks = new List<Assessment>();
        var others = new List<Assessment>();
        var stalled = new List<Assessment>();
        foreach (CorpusRow row in rows)
        {
            if (select(row) is not { } byCompilation || !byCompilation.TryGetValue(compilation, out Assessment? a))
            {
                continue;
            }

            (row.Expected.Verdict == Verdict.ProvenLeak ? leaks : others).Add(a);
            if (row.Expected.Verdict == Verdict.Stalled)
            {
                stalled.Add(a);
            }
        }

        List<Assessment> found = leaks.Where(a => a.ClaimsLeak).ToList();
        int falsePositives = others.Count(a => a.ClaimsLeak);
        text.Append("| ").Append(detector).Append(" | ").Append(compilation)
            .Append(" | ").Append(Ratio(found.Count, leaks.Count))
            .Append(" | ").Append(falsePositives.ToString(CultureInfo.InvariantCulture)).Append(" of ").Append(others.Count.ToString(CultureInfo.InvariantCulture))
            .Append(" | ").Append(detector == "TaskLeak" ? stalled.Count(a => a.Stalled) + " of " + stalled.Count + " reported, suspected" : "none")
            .Append(" | ").Append(Ratio(found.Count(a => a.Method == Mark.Yes), found.Count))
            .Append(" | ").Append(Ratio(found.Count(a => a.AwaitLine == Mark.Yes), found.Count))
            .Append(" | ").Append(Ratio(found.Count(a => a.WaitTarget == Mark.Yes), found.Count))
            .Append(found.Any(a => a.WaitTarget == Mark.Partial) ? " (" + found.Count(a => a.WaitTarget == Mark.Partial) + " awaiter type only)" : "")
            .Append(" | ").Append(Ratio(found.Count(a => a.CreationSite == Mark.Yes), found.Count))
            .AppendLine(" |");
    }

    private static string Ratio(int part, int whole) =>
        whole == 0 ? "\u2014" : part + "/" + whole + " (" + (100.0 * part / whole).ToString("0", CultureInfo.InvariantCulture) + "%)";

    private static string Describe(Expected expected) => expected.Verdict switch
    {
        Verdict.ProvenLeak => "leak" + (expected.TotalRoots > 1 ? " \u00d7" + expected.TotalRoots : ""),
        Verdict.Stalled => "stalled" + (expected.Count > 1 ? " \u00d7" + expected.Count : ""),
        _ => "no leak",
    };

    private static string Verdicts(IReadOnlyDictionary<string, Assessment> byCompilation)
    {
        string[] cells = CorpusCase.Compilations.Select(c => byCompilation.TryGetValue(c.Name, out Assessment? a) ? Cell(a) : "?").ToArray();
        return cells.Distinct().Count() == 1 ? cells[0] : string.Join(" / ", cells);
    }

    private static string Cell(Assessment a) => a.Verdict + (a.Correct ? "" : " \u2717");

    private static string Names(IReadOnlyDictionary<string, Assessment> byCompilation)
    {
        Assessment[] all = CorpusCase.Compilations.Where(c => byCompilation.ContainsKey(c.Name)).Select(c => byCompilation[c.Name]).ToArray();
        if (all.Length == 0 || all.All(a => a.Method == Mark.NotApplicable))
        {
            return "";
        }

        string Column(Func<Assessment, Mark> mark)
        {
            string[] marks = all.Select(a => Symbol(mark(a))).ToArray();
            return marks.Distinct().Count() == 1 ? marks[0] : string.Join("/", marks);
        }

        return string.Join(" ", Column(a => a.Method), Column(a => a.AwaitLine), Column(a => a.WaitTarget), Column(a => a.CreationSite));
    }

    private static string Symbol(Mark mark) => mark switch
    {
        Mark.Yes => "\u2713",
        Mark.Partial => "~",
        Mark.No => "\u2717",
        _ => "\u00b7",
    };
}
