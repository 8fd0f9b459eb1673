using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using TaskLeak.Reporting;

namespace TaskLeak;

/// <summary>
/// The leaks proven so far: suspended async operations whose frames the garbage collector reclaimed before they
/// completed. None of them can ever resume; their <c>finally</c> blocks will never run.
/// </summary>
public sealed class TaskLeakReport
{
    internal TaskLeakReport(IReadOnlyList<TaskLeakGroup> leaks, long droppedSites)
    {
        Leaks = leaks;
        long total = 0;
        foreach (TaskLeakGroup group in leaks)
        {
            total += group.Count;
        }

        TotalCount = total;
        OverflowCount = droppedSites;
    }

    /// <summary>One group per root await site, most leaks first.</summary>
    public IReadOnlyList<TaskLeakGroup> Leaks { get; }

    /// <summary>The number of leaked operations across all groups.</summary>
    public long TotalCount { get; }

    /// <summary>Leaks counted in the catch-all group because the report had reached its cap on distinct sites.</summary>
    public long OverflowCount { get; }

    /// <summary>True when no leak has been proven.</summary>
    public bool IsEmpty => Leaks.Count == 0;

    /// <summary>A report in the style of pprof's <c>top</c> and <c>list</c>: counts per site, then each site with its source.</summary>
    public override string ToString() => ReportText.Format(this);

    /// <summary>The report as JSON (schema version 1, documented in the README).</summary>
    public string ToJson() => ReportJson.Format(this);
}
