using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;

namespace TaskLeak.Diagnostics;

/// <summary>
/// Where one detector's findings go: its logger and <see cref="LeakDetected"/> handlers, and the process's EventSource
/// and Meter. Each sink is called in isolation, one group at a time; a sink that throws is counted and skipped, never
/// propagated to the sweeper or the application. Called only by the <see cref="Publisher"/>, never under a lock that
/// sweeps or hooks take.
/// </summary>
internal sealed class LeakSinks
{
    private const int MaxErrors = 64;
    private readonly object _errorsLock = new();
    private readonly List<string> _errors = new();
    private ILogger? _logger;
    private int _failures;

    internal EventHandler<TaskLeakDetectedEventArgs>? LeakDetected;

    /// <summary>The stalled threshold to print in event 2 (the owner's setting).</summary>
    internal Func<long>? StalledThresholdMilliseconds;

    internal int Failures => Volatile.Read(ref _failures);

    /// <summary>Runtime problems reported so far (site tables refused, the sweeper not starting), one message each.</summary>
    internal IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errorsLock)
            {
                return _errors.ToArray();
            }
        }
    }

    /// <summary>Creates the EventSource and the Meter, so that tools can attach before the first finding.</summary>
    internal void Initialize()
    {
        Contain(static () => _ = TaskLeakEventSource.Log);
        Contain(LeakMetrics.Initialize);
    }

    /// <summary>Attaches a logger; the runtime problems reported before it are logged to it now (each once per logger).</summary>
    internal void UseLoggerFactory(ILoggerFactory? factory)
    {
        ILogger? logger = factory?.CreateLogger(LeakLog.Category);
        Volatile.Write(ref _logger, logger);
        if (logger is not null)
        {
            foreach (string error in Errors)
            {
                Contain(() => LeakLog.RuntimeError(logger, error));
            }
        }
    }

    internal void CountFailure() => Interlocked.Increment(ref _failures);

    /// <summary>
    /// A problem of the runtime itself that turned part of it off (never thrown into user code): kept in
    /// <see cref="Errors"/>, logged (event 4) and written to the EventSource.
    /// </summary>
    internal void ReportError(string message)
    {
        lock (_errorsLock)
        {
            if (_errors.Count >= MaxErrors)
            {
                return;
            }

            _errors.Add(message);
        }

        ILogger? logger = Volatile.Read(ref _logger);
        if (logger is not null)
        {
            Contain(() => LeakLog.RuntimeError(logger, message));
        }

        Contain(() =>
        {
            TaskLeakEventSource source = TaskLeakEventSource.Log;
            if (source.IsEnabled())
            {
                source.RuntimeError(message);
            }
        });
    }

    internal void Publish(IReadOnlyList<TaskLeakGroup> leaks)
    {
        ILogger? logger = Volatile.Read(ref _logger);
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

    internal void PublishStalled(IReadOnlyList<StalledOperationGroup> stalled)
    {
        ILogger? logger = Volatile.Read(ref _logger);
        TaskLeakEventSource source = TaskLeakEventSource.Log;
        long threshold = StalledThresholdMilliseconds?.Invoke() ?? 0;
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

    internal void PublishGrowing(IReadOnlyList<GrowingSite> growing)
    {
        ILogger? logger = Volatile.Read(ref _logger);
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

    private void Contain(Action sink)
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
