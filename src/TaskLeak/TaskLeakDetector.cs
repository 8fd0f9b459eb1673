using System;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;
using TaskLeak.Configuration;

namespace TaskLeak;

/// <summary>
/// Entry point of the TaskLeak runtime: proven leaks, sinks and settings. Woven assemblies report to it on their
/// own; nothing needs to be called for detection to run in the background.
/// </summary>
public static class TaskLeakDetector
{
    /// <summary>Raised after a sweep (background or <see cref="DetectNow"/>) proves new leaks. Handlers run on a publishing thread, outside the locks sweeps need; exceptions they throw are counted in <see cref="SinkFailures"/>.</summary>
    public static event EventHandler<TaskLeakDetectedEventArgs>? LeakDetected
    {
        add => Detector.Default.LeakDetected += value;
        remove => Detector.Default.LeakDetected -= value;
    }

    /// <summary>A copy of the settings in effect.</summary>
    public static TaskLeakOptions Options => Detector.Default.Options;

    /// <summary>
    /// Startup settings (environment variables, runtimeconfig/AppContext switches) that could not be read and were
    /// ignored, then problems that turned part of the runtime off (a woven module's site table refused, the background
    /// sweeper not starting), one message each.
    /// </summary>
    public static IReadOnlyList<string> ConfigurationErrors
    {
        get
        {
            var errors = new List<string>(TaskLeakConfiguration.Errors);
            errors.AddRange(Detector.Default.Sinks.Errors);
            return errors;
        }
    }

    /// <summary>Exceptions thrown by loggers and <see cref="LeakDetected"/> handlers, contained and counted.</summary>
    public static int SinkFailures => Detector.Default.SinkFailures;

    /// <summary>
    /// Forces full blocking collections, waits for pending finalizers, sweeps, and returns every leak proven in this
    /// process since start or the last <see cref="Reset"/>. When it returns, the sinks have seen every leak proven before
    /// (unless it is called from a <see cref="LeakDetected"/> handler: then it returns at once, and what it proved is
    /// published after the handler returns).
    /// </summary>
    public static TaskLeakReport DetectNow() => Detector.Default.DetectNow();

    /// <summary>The operations suspended right now, grouped by await site, each with its logical async stacks (no collection is forced).</summary>
    public static TaskLeakSnapshot Snapshot() => Detector.Default.Snapshot();

    /// <summary>The operations suspended for at least <paramref name="minimumAge"/> (since their first suspension), grouped as <see cref="Snapshot()"/> does.</summary>
    /// <param name="minimumAge">The least age of an operation to include.</param>
    public static TaskLeakSnapshot Snapshot(TimeSpan minimumAge) => Detector.Default.Snapshot(minimumAge);

    /// <summary>The leaks proven so far, without collecting or sweeping.</summary>
    public static TaskLeakReport GetReport() => Detector.Default.GetReport();

    /// <summary>
    /// Suspected, not proven: live operations that have sat at the same await for at least <paramref name="olderThan"/>,
    /// grouped by site. Their frames are reachable; they may still complete. Never part of <see cref="TaskLeakReport.Leaks"/>.
    /// </summary>
    /// <param name="olderThan">The least time at the current await (measured conservatively, see the README).</param>
    public static IReadOnlyList<StalledOperationGroup> GetStalled(TimeSpan olderThan) => Detector.Default.GetStalled(olderThan);

    /// <summary>Suspected, not proven: await sites whose live operation count rose across the last consecutive sweeps.</summary>
    public static IReadOnlyList<GrowingSite> GetGrowingSites() => Detector.Default.GetGrowingSites();

    /// <summary>Forgets every leak proven so far and the suspected tiers' history. Operations still suspended stay tracked.</summary>
    public static void Reset() => Detector.Default.Reset();

    /// <summary>Sends each proven leak to a logger of category <c>TaskLeak</c> (event id 1, <c>TaskLeaked</c>, Warning). Null detaches.</summary>
    /// <param name="loggerFactory">The factory to create the logger from.</param>
    public static void UseLoggerFactory(ILoggerFactory? loggerFactory) => Detector.Default.UseLoggerFactory(loggerFactory);

    /// <summary>Lost leaks: failures inside the tracker that were contained instead of reaching user code (should stay 0).</summary>
    public static int InternalErrors => Detector.Default.InternalErrors;

    /// <summary>Changes the settings from code (which wins over environment and AppContext for what it sets); takes effect for operations that suspend afterwards.</summary>
    /// <param name="configure">Receives a copy of the current settings to change.</param>
    public static void Configure(Action<TaskLeakOptions> configure) => Detector.Default.Configure(configure);

    /// <summary>Operations suspended right now and tracked (a scan of the registry).</summary>
    public static int PendingCount => Detector.Default.PendingCount;
}
