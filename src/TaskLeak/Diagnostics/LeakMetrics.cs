using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace TaskLeak.Diagnostics;

/// <summary>
/// The <c>TaskLeak</c> Meter, for OpenTelemetry and dotnet-counters: <c>taskleak.leaked</c> (counter, tagged with the
/// root's <c>taskleak.method</c> and <c>taskleak.await_site</c>) and <c>taskleak.pending</c> (observable gauge).
/// </summary>
internal static class LeakMetrics
{
    internal const string MeterName = "TaskLeak";
    internal const string MethodTag = "taskleak.method";
    internal const string AwaitSiteTag = "taskleak.await_site";

    private static readonly Meter s_meter = new(MeterName, typeof(LeakMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> s_leaked = s_meter.CreateCounter<long>(
        "taskleak.leaked", "{operation}", "Leaked async operations proven: suspended frames the GC collected before they completed.");

    private static readonly ObservableGauge<int> s_pending = s_meter.CreateObservableGauge(
        "taskleak.pending", static () => Detector.Default.Registry.CountTracked(), "{operation}", "Suspended async operations tracked right now.");

    /// <summary>Touching the type creates the Meter, so listeners see it before the first leak.</summary>
    internal static void Initialize() => _ = s_pending;

    internal static void RecordLeaked(TaskLeakGroup group)
    {
        if (s_leaked.Enabled)
        {
            s_leaked.Add(group.Count, new KeyValuePair<string, object?>(MethodTag, group.Method),
                new KeyValuePair<string, object?>(AwaitSiteTag, group.AwaitSite));
        }
    }
}
