using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace TaskLeak.Reporting;

/// <summary>The text report: a pprof-style table of sites, then one section per site with a source excerpt.</summary>
internal static class ReportText
{
    private const int ExcerptRadius = 4;

    internal static string Format(TaskLeakReport report)
    {
        var text = new StringBuilder();
        if (report.IsEmpty)
        {
            return "TaskLeak: no leaked async operations proven.";
        }

        text.Append("TaskLeak: ").Append(report.TotalCount).Append(" leaked async operation(s) proven at ")
            .Append(report.Leaks.Count).Append(" site(s): suspended frames the GC collected before they completed.\n")
            .Append("They can never resume; their finally blocks will never run.\n\n");
        text.Append("      flat  flat%   sum%  site\n");
        double sum = 0;
        foreach (TaskLeakGroup group in report.Leaks)
        {
            double percent = 100.0 * group.Count / report.TotalCount;
            sum += percent;
            text.Append(group.Count.ToString(CultureInfo.InvariantCulture).PadLeft(10))
                .Append(Percent(percent).PadLeft(7))
                .Append(Percent(sum).PadLeft(7))
                .Append("  ").Append(group.Method).Append(" (").Append(group.AwaitSite).Append(")\n");
        }

        if (report.OverflowCount > 0)
        {
            text.Append("  (").Append(report.OverflowCount)
                .Append(" leak(s) at sites beyond the report's cap on distinct sites are counted in the <unknown site 0> group)\n");
        }

        foreach (TaskLeakGroup group in report.Leaks)
        {
            text.Append('\n');
            AppendRoutine(text, group);
        }

        return text.ToString();
    }

    private static void AppendRoutine(StringBuilder text, TaskLeakGroup group)
    {
        text.Append("ROUTINE ======================== ").Append(group.Method);
        if (group.Detail.Length > 0)
        {
            text.Append(" (").Append(group.Detail).Append(')');
        }

        text.Append(" in ").Append(group.SourcePath ?? group.AwaitSite).Append('\n');
        text.Append("  leaked       ").Append(group.Count).Append(" operation(s), suspended ")
            .Append(group.AgeMilliseconds).Append(" ms before the frame was collected\n");
        if (group.AwaiterCount > 0)
        {
            text.Append("  awaiters     ").Append(group.AwaiterCount)
                .Append(" leaked operation(s) above these roots, folded into this group\n");
        }

        text.Append("  waiting on   ").Append(group.WaitTarget).Append('\n');
        text.Append("  async stack  ").Append(group.Method).Append(" (").Append(group.AwaitSite).Append(")\n");
        foreach (AsyncStackFrame frame in group.AsyncStack)
        {
            text.Append("             \u2190 ").Append(frame).Append('\n');
        }

        AppendExcerpt(text, group);
        if (group.CreationStack is { Length: > 0 } stack)
        {
            text.Append("  creation stack:\n");
            foreach (string line in stack.Split('\n'))
            {
                text.Append("  ").Append(line).Append('\n');
            }
        }
    }

    private static void AppendExcerpt(StringBuilder text, TaskLeakGroup group)
    {
        string[]? lines = ReadSource(group.SourcePath);
        if (lines is null || group.Line <= 0 || group.Line > lines.Length)
        {
            return;
        }

        int first = Math.Max(1, group.Line - ExcerptRadius);
        int last = Math.Min(lines.Length, group.Line + ExcerptRadius);
        for (int line = first; line <= last; line++)
        {
            string flat = line == group.Line ? group.Count.ToString(CultureInfo.InvariantCulture) : ".";
            text.Append(flat.PadLeft(10)).Append(line.ToString(CultureInfo.InvariantCulture).PadLeft(7)).Append(":  ")
                .Append(lines[line - 1].TrimEnd()).Append('\n');
        }
    }

    private static string[]? ReadSource(string? path)
    {
        try
        {
            return path is not null && File.Exists(path) ? File.ReadAllLines(path) : null;
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static string Percent(double value) => value.ToString("0.##", CultureInfo.InvariantCulture) + "%";
}
