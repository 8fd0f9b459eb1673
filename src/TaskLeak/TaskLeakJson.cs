using System;
using System.Collections.Generic;
using TaskLeak.Reporting;

namespace TaskLeak;

/// <summary>JSON for the suspected tiers' results, in the same schema (version 1) as <see cref="TaskLeakReport.ToJson"/>.</summary>
public static class TaskLeakJson
{
    /// <summary>The result of <see cref="TaskLeakDetector.GetStalled(TimeSpan)"/> as JSON (<c>"kind": "taskleak.stalled"</c>).</summary>
    /// <param name="stalled">The stalled groups.</param>
    public static string ToJson(this IReadOnlyList<StalledOperationGroup> stalled) =>
        ReportJson.Format(stalled ?? throw new ArgumentNullException(nameof(stalled)));

    /// <summary>The result of <see cref="TaskLeakDetector.GetGrowingSites"/> as JSON (<c>"kind": "taskleak.growing"</c>).</summary>
    /// <param name="growing">The growing sites.</param>
    public static string ToJson(this IReadOnlyList<GrowingSite> growing) =>
        ReportJson.Format(growing ?? throw new ArgumentNullException(nameof(growing)));
}
