using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;
using TaskLeak.Configuration;

namespace TaskLeak.Diagnostics;

/// <summary>
/// Where findings go: the logger, the EventSource, the Meter and the <see cref="TaskLeakDetector.LeakDetected"/> event.
/// Each sink is called in isolation, one group at a time; a sink that throws is counted and skipped, never propagated
/// to the sweeper or the application.
/// </summary>
internal static class LeakSinks
{
    private static ILogger? s_logger;
    private static int s_failures;

    internal static EventHandler<TaskLeakDetectedEventArgs>? LeakDetected;

    internal static int Failures => Volatile.Read(ref s_failures);

    /// <summary>Creates the EventSource and the Meter, so that tools can attach before the first finding.</summary>
    internal static void Initialize()
    {
        Contain(static () => _ = TaskLeakEventSource.Log);
        Contain(LeakMetrics.Initialize);
    }

    internal static void UseLoggerFactory(ILoggerFactory? factory) =>
        Volatile.Write(ref s_logger, factory?.CreateLogger(LeakLog.Category));

    internal static void CountFailure() => Interlocked.Increment(ref s_failures);

    internal static void Publish(IReadOnlyList<TaskLeakGroup> leaks)
    {
        ILogger? logger = Volatile.Read(ref s_logger);
        TaskLeakEventSource source = TaskLeakEventSource.Log;
        bool traced = source.IsEnabled();
        foreach (TaskLeakGroup group in leaks)
        {
            if (logger is not null)
            {
                Contain(() => LeakLog.TaskLeaked(logger, group.Method, group.AwaitSite, group.WaitTarget, group.AgeMilliseconds,
                    group.Count, group.Chain, group.CreationStack ?? "(not captured)"));
            }

            if (traced)
            {
                Contain(() => source.TaskLeaked(group.Method, group.AwaitSite, group.WaitTarget, group.Count, group.AgeMilliseconds, group.Chain));
            }

            Contain(() => LeakMetrics.RecordLeaked(group));
        }

        EventHandler<TaskLeakDetectedEventArgs>? handlers = Volatile.Read(ref LeakDetected);
        if (handlers is not null)
        {
            var args = new TaskLeakDetectedEventArgs(leaks);
            foreach (Delegate handler in handlers.GetInvocationList())
            {
                Contain(() => ((EventHandler<TaskLeakDetectedEventArgs>)handler)(null, args));
            }
        }
    }

    internal static void PublishStalled(IReadOnlyList<StalledOperationGroup> stalled)
    {
        ILogger? logger = Volatile.Read(ref s_logger);
        TaskLeakEventSource source = TaskLeakEventSource.Log;
        long threshold = (long)(RuntimeSettings.Current.StalledThreshold?.TotalMilliseconds ?? 0);
        foreach (StalledOperationGroup group in stalled)
        {
            if (logger is not null)
            {
                Contain(() => LeakLog.OperationStalled(logger, group.Method, group.AwaitSite, group.WaitTarget, group.Count,
                    group.OldestAgeMilliseconds, threshold));
            }

            if (source.IsEnabled())
            {
                Contain(() => source.OperationStalled(group.Method, group.AwaitSite, group.WaitTarget, group.Count, group.OldestAgeMilliseconds));
            }
        }
    }

    internal static void PublishGrowing(IReadOnlyList<GrowingSite> growing)
    {
        ILogger? logger = Volatile.Read(ref s_logger);
        TaskLeakEventSource source = TaskLeakEventSource.Log;
        foreach (GrowingSite site in growing)
        {
            if (logger is not null)
            {
                Contain(() => LeakLog.GrowingSite(logger, site.Method, site.AwaitSite, site.WaitTarget, site.Count, site.Increase, site.Sweeps));
            }

            if (source.IsEnabled())
            {
                Contain(() => source.GrowingSite(site.Method, site.AwaitSite, site.WaitTarget, site.Count, site.Increase, site.Sweeps));
            }
        }
    }

    private static void Contain(Action sink)
    {
        try
        {
            sink();
        }
        catch (Exception)
        {
            CountFailure();
        }
    }
}
