using System;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;
using TaskLeak.Configuration;
using TaskLeak.Detection;
using TaskLeak.Diagnostics;
using TaskLeak.Tracking;

namespace TaskLeak;

/// <summary>
/// Entry point of the TaskLeak runtime: proven leaks, sinks and settings. Woven assemblies report to it on their
/// own; nothing needs to be called for detection to run in the background.
/// </summary>
public static class TaskLeakDetector
{
    private static readonly object s_configureLock = new();

    /// <summary>Raised after a sweep (background or <see cref="DetectNow"/>) proves new leaks. Handlers run on the sweeping thread; exceptions they throw are counted in <see cref="SinkFailures"/>.</summary>
    public static event EventHandler<TaskLeakDetectedEventArgs>? LeakDetected
    {
        add
        {
            lock (s_configureLock)
            {
                LeakSinks.LeakDetected += value;
            }
        }

        remove
        {
            lock (s_configureLock)
            {
                LeakSinks.LeakDetected -= value;
            }
        }
    }

    /// <summary>A copy of the settings in effect.</summary>
    public static TaskLeakOptions Options => RuntimeSettings.Current.Clone();

    /// <summary>Startup settings (environment variables, runtimeconfig/AppContext switches) that could not be read and were ignored, one message each.</summary>
    public static IReadOnlyList<string> ConfigurationErrors => TaskLeakConfiguration.Errors;

    /// <summary>Exceptions thrown by loggers and <see cref="LeakDetected"/> handlers, contained and counted.</summary>
    public static int SinkFailures => LeakSinks.Failures;

    /// <summary>
    /// Forces full blocking collections, waits for pending finalizers, sweeps, and returns every leak proven in this
    /// process since start or the last <see cref="Reset"/>.
    /// </summary>
    public static TaskLeakReport DetectNow()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        Sweeper.SweepNow();
        return LeakLedger.Snapshot();
    }

    /// <summary>The operations suspended right now, grouped by await site, each with its logical async stacks (no collection is forced).</summary>
    public static TaskLeakSnapshot Snapshot() => PendingStacks.Snapshot(0);

    /// <summary>The operations suspended for at least <paramref name="minimumAge"/> (since their first suspension), grouped as <see cref="Snapshot()"/> does.</summary>
    /// <param name="minimumAge">The least age of an operation to include.</param>
    public static TaskLeakSnapshot Snapshot(TimeSpan minimumAge) => PendingStacks.Snapshot(Math.Max(0, (long)minimumAge.TotalMilliseconds));

    /// <summary>The leaks proven so far, without collecting or sweeping.</summary>
    public static TaskLeakReport GetReport() => LeakLedger.Snapshot();

    /// <summary>
    /// Suspected, not proven: live operations that have sat at the same await for at least <paramref name="olderThan"/>,
    /// grouped by site. Their frames are reachable; they may still complete. Never part of <see cref="TaskLeakReport.Leaks"/>.
    /// </summary>
    /// <param name="olderThan">The least time at the current await (measured conservatively, see the README).</param>
    public static IReadOnlyList<StalledOperationGroup> GetStalled(TimeSpan olderThan) => Sweeper.GetStalled(olderThan);

    /// <summary>Suspected, not proven: await sites whose live operation count rose across the last consecutive sweeps.</summary>
    public static IReadOnlyList<GrowingSite> GetGrowingSites() => GrowthTracker.Current;

    /// <summary>Forgets every leak proven so far and the suspected tiers' history. Operations still suspended stay tracked.</summary>
    public static void Reset()
    {
        LeakLedger.Reset();
        Sweeper.ResetTiers();
    }

    /// <summary>Sends each proven leak to a logger of category <c>TaskLeak</c> (event id 1, <c>TaskLeaked</c>, Warning). Null detaches.</summary>
    /// <param name="loggerFactory">The factory to create the logger from.</param>
    public static void UseLoggerFactory(ILoggerFactory? loggerFactory) => LeakSinks.UseLoggerFactory(loggerFactory);

    /// <summary>Lost leaks: failures inside the tracker that were contained instead of reaching user code (should stay 0).</summary>
    public static int InternalErrors => OperationTracker.InternalErrors;

    /// <summary>Changes the settings from code (which wins over environment and AppContext for what it sets); takes effect for operations that suspend afterwards.</summary>
    /// <param name="configure">Receives a copy of the current settings to change.</param>
    public static void Configure(Action<TaskLeakOptions> configure)
    {
        if (configure is null)
        {
            throw new ArgumentNullException(nameof(configure));
        }

        lock (s_configureLock)
        {
            TaskLeakOptions options = RuntimeSettings.Current.Clone();
            configure(options);
            RuntimeSettings.Apply(options);
        }
    }

    /// <summary>Operations suspended right now and tracked (a scan of the registry).</summary>
    public static int PendingCount => OperationRegistry.CountTracked();
}
