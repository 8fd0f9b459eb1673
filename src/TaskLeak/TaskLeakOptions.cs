using System;

namespace TaskLeak;

/// <summary>
/// Settings of the TaskLeak runtime. At startup they are read once from environment variables (<c>TASKLEAK_*</c>),
/// then runtimeconfig/AppContext switches (<c>TaskLeak.*</c>), then these defaults, in that order of precedence;
/// <see cref="TaskLeakDetector.Configure(Action{TaskLeakOptions})"/> changes them from code afterwards.
/// </summary>
public sealed class TaskLeakOptions
{
    /// <summary>Whether the hooks track anything. When false, every hook is a single predictable branch. Default true.</summary>
    /// <remarks>Environment <c>TASKLEAK_ENABLED</c>; switch <c>TaskLeak.Enabled</c>.</remarks>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Production sampling: track one suspension in this many (1: all, the default). A skipped operation is tried again
    /// at its next suspension. Proven leaks stay proven; counts scale down by about this factor.
    /// </summary>
    /// <remarks>Environment <c>TASKLEAK_SAMPLE_RATE</c>; switch <c>TaskLeak.SampleRate</c>.</remarks>
    public int SampleRate { get; set; } = 1;

    /// <summary>Which operations get a creation stack. Default <see cref="CreationStackMode.Sampled"/>.</summary>
    /// <remarks>Environment <c>TASKLEAK_CREATION_STACKS</c>; switch <c>TaskLeak.CreationStacks</c> (<c>None</c>, <c>Sampled</c>, <c>All</c>).</remarks>
    public CreationStackMode CreationStacks { get; set; } = CreationStackMode.Sampled;

    /// <summary>With <see cref="CreationStackMode.Sampled"/>: how many operations of each await site always get a stack. Default 8.</summary>
    /// <remarks>Environment <c>TASKLEAK_CREATION_STACKS_PER_SITE</c>; switch <c>TaskLeak.CreationStacksPerSite</c>.</remarks>
    public int CreationStacksPerSite { get; set; } = 8;

    /// <summary>
    /// With <see cref="CreationStackMode.Sampled"/>: after each site's first few, one first suspension in this many gets a
    /// stack. Default 65536: a capture costs ~20 µs and ~10 KB, so this keeps the amortized cost near 0.3 ns and 0.15 B
    /// per suspension. A leak reported without a stack also makes its site capture its next few again.
    /// </summary>
    /// <remarks>Environment <c>TASKLEAK_CREATION_STACK_SAMPLE_RATE</c>; switch <c>TaskLeak.CreationStackSampleRate</c>.</remarks>
    public int CreationStackSampleRate { get; set; } = 65536;

    /// <summary>
    /// The stalled tier: background sweeps report operations suspended at the same await for at least this long
    /// (log event 2). They are still reachable, so they are only <em>suspected</em>, never reported as leaks.
    /// Null (the default) turns background stall reports off; <see cref="TaskLeakDetector.GetStalled(TimeSpan)"/> works either way.
    /// </summary>
    /// <remarks>Environment <c>TASKLEAK_STALLED_THRESHOLD_MS</c>; switch <c>TaskLeak.StalledThresholdMs</c> (milliseconds; 0 turns it off).</remarks>
    public TimeSpan? StalledThreshold { get; set; }

    /// <summary>
    /// The growing-sites tier: a site whose count of live suspended operations rose at this many consecutive sweeps
    /// (and by at least <see cref="GrowingSiteMinimumIncrease"/>) is reported (log event 3). 0 turns it off. Default 5.
    /// </summary>
    /// <remarks>Environment <c>TASKLEAK_GROWING_SITE_SWEEPS</c>; switch <c>TaskLeak.GrowingSiteSweeps</c>.</remarks>
    public int GrowingSiteSweeps { get; set; } = 5;

    /// <summary>The smallest rise, over the sweeps of <see cref="GrowingSiteSweeps"/>, that makes a growing site. Default 100.</summary>
    /// <remarks>Environment <c>TASKLEAK_GROWING_SITE_MINIMUM_INCREASE</c>; switch <c>TaskLeak.GrowingSiteMinimumIncrease</c>.</remarks>
    public int GrowingSiteMinimumIncrease { get; set; } = 100;

    /// <summary>
    /// At process exit (<see cref="AppDomain.ProcessExit"/>), run a last detection, send what it proves to the sinks and
    /// write the report to standard error when it is not empty. Default false.
    /// </summary>
    /// <remarks>Environment <c>TASKLEAK_REPORT_ON_EXIT</c>; switch <c>TaskLeak.ReportOnProcessExit</c>.</remarks>
    public bool ReportOnProcessExit { get; set; }

    /// <summary>
    /// Periodic detection, for idle or low-allocation services whose leaks would otherwise wait for a natural full
    /// collection: at most once per this interval, a background thread runs <see cref="TaskLeakDetector.DetectNow"/>
    /// (full blocking collections; see docs/production.md for its cost). Null (the default) turns it off; leaks proven by
    /// natural collections are reported either way. At least one second.
    /// </summary>
    /// <remarks>Environment <c>TASKLEAK_DETECTION_INTERVAL</c>; switch <c>TaskLeak.DetectionInterval</c> (<c>30s</c>, <c>5m</c>, <c>1h</c>, <c>00:05:00</c>; <c>0</c> or <c>off</c> turns it off).</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is shorter than one second.</exception>
    public TimeSpan? DetectionInterval
    {
        get => _detectionInterval;
        set => _detectionInterval = value is TimeSpan interval && interval < MinimumDetectionInterval
            ? throw new ArgumentOutOfRangeException(nameof(value), interval, "The detection interval must be at least one second (each detection forces full blocking collections).")
            : value;
    }

    internal static readonly TimeSpan MinimumDetectionInterval = TimeSpan.FromSeconds(1);

    private TimeSpan? _detectionInterval;

    internal TaskLeakOptions Clone() => (TaskLeakOptions)MemberwiseClone();
}
