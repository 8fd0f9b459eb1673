using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using TaskLeak;

namespace LeakCorpus.Harness;

/// <summary>What TaskLeak said about one scenario.</summary>
public sealed class TaskLeakOutcome
{
    internal TaskLeakOutcome(IReadOnlyList<TaskLeakGroup> leaks, long inScope, IReadOnlyList<StalledOperationGroup> stalled,
        IReadOnlyList<string> stalledEvents, int pendingWhileSuspended, int pendingAtEnd, string? error)
    {
        PendingWhileSuspended = pendingWhileSuspended;
        Leaks = leaks;
        LeaksInScope = inScope;
        Stalled = stalled;
        StalledEvents = stalledEvents;
        PendingAtEnd = pendingAtEnd;
        Error = error;
    }

    /// <summary>Every leak proven while the scenario ran (the ledger is reset before it starts).</summary>
    public IReadOnlyList<TaskLeakGroup> Leaks { get; }

    /// <summary>How many of the proven leaks the scenario's <see cref="TaskLeakScope"/> was credited with.</summary>
    public long LeaksInScope { get; }

    /// <summary>Stalled scenarios: <c>GetStalled(threshold)</c> once the threshold had passed; empty for the others.</summary>
    public IReadOnlyList<StalledOperationGroup> Stalled { get; }

    /// <summary>The stalled tier's reports from sweeps (EventSource event 2) while the scenario ran, as <c>Method at Site ×Count</c>.</summary>
    public IReadOnlyList<string> StalledEvents { get; }

    /// <summary>The most operations of the scenario seen suspended (tracked, live) between its start and its finish.</summary>
    public int PendingWhileSuspended { get; }

    /// <summary>Operations the scenario started that were still suspended after it finished (0 when it cleaned up).</summary>
    public int PendingAtEnd { get; }

    /// <summary>A scenario that did not run as written (timed out, threw).</summary>
    public string? Error { get; }

    /// <summary>Leaked operations proven, over all groups.</summary>
    public long LeakedCount => Leaks.Sum(l => (long)l.Count);
}

/// <summary>
/// Runs scenarios against TaskLeak, one at a time, each in its own <see cref="TaskLeakScope"/> after a
/// <c>DetectNow</c> + <c>Reset</c>, so every proven leak belongs to the scenario that ran.
/// </summary>
public static class TaskLeakPass
{
    /// <summary>The stalled tier's threshold while a stalled scenario runs (off for the others, as by default).</summary>
    public static readonly TimeSpan StalledThreshold = TimeSpan.FromMilliseconds(100);

    private const int MaxRounds = 40;
    private static readonly StalledEventListener s_stalledEvents = new();
    private static readonly object s_gate = new();

    /// <summary>Runs one scenario and reports what TaskLeak proved, and what its stalled tier said.</summary>
    public static TaskLeakOutcome Run(CorpusCase corpusCase)
    {
        lock (s_gate)
        {
            return RunLocked(corpusCase);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TaskLeakOutcome RunLocked(CorpusCase corpusCase)
    {
        Expected expected = corpusCase.Expected;
        Scenario scenario = corpusCase.Create();
        TimeSpan? savedThreshold = TaskLeakDetector.Options.StalledThreshold;
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        s_stalledEvents.Clear();
        if (expected.Verdict == Verdict.Stalled)
        {
            TaskLeakDetector.Configure(o => o.StalledThreshold = StalledThreshold);
        }

        var errors = new List<string>();
        IReadOnlyList<StalledOperationGroup> stalled = Array.Empty<StalledOperationGroup>();
        int pending;
        int pendingWhileSuspended;
        long inScope;
        try
        {
            using TaskLeakScope scope = TaskLeakScope.Begin(corpusCase.ToString());
            if (Driver.Start(scenario) is string startError)
            {
                errors.Add(startError);
            }

            // Sampled right away (fragments that complete on a short timer), after a settle and after detecting
            // (fragments that suspend on the thread pool): a non-leak must have been suspended to prove anything.
            pendingWhileSuspended = scope.PendingCount;
            Driver.Settle();
            pendingWhileSuspended = Math.Max(pendingWhileSuspended, scope.PendingCount);
            if (expected.Verdict == Verdict.ProvenLeak)
            {
                // Work on the thread pool may suspend (and become collectable) a little after Start signalled.
                for (int round = 0; round < MaxRounds && TaskLeakDetector.DetectNow().TotalCount < expected.TotalRoots; round++)
                {
                    Driver.Settle();
                }
            }
            else
            {
                TaskLeakDetector.DetectNow();
                Driver.Settle();
                TaskLeakDetector.DetectNow();
            }

            if (expected.Verdict == Verdict.Stalled)
            {
                Thread.Sleep(StalledThreshold + TimeSpan.FromMilliseconds(50));
                TaskLeakDetector.DetectNow(); // a sweep with the threshold set publishes the newly stalled sites
                stalled = TaskLeakDetector.GetStalled(StalledThreshold);
            }

            pendingWhileSuspended = Math.Max(pendingWhileSuspended, scope.PendingCount);
            if (Driver.Finish(scenario) is string finishError)
            {
                errors.Add(finishError);
            }

            TaskLeakDetector.DetectNow();
            SpinWait.SpinUntil(() => scope.PendingCount == 0, Driver.StepTimeout);
            pending = scope.PendingCount;
            inScope = scope.DetectNow(0).TotalCount;
        }
        finally
        {
            TaskLeakDetector.Configure(o => o.StalledThreshold = savedThreshold);
        }

        if (pending > 0)
        {
            errors.Add(pending + " operation(s) still suspended after Finish");
        }

        return new TaskLeakOutcome(TaskLeakDetector.GetReport().Leaks, inScope, stalled, s_stalledEvents.Drain(), pendingWhileSuspended, pending,
            errors.Count > 0 ? string.Join("; ", errors) : null);
    }

    /// <summary>Listens to TaskLeak's own EventSource for the stalled tier's event 2, which sweeps raise only when it is enabled.</summary>
    private sealed class StalledEventListener : EventListener
    {
        private readonly ConcurrentQueue<string> _events = new();

        internal void Clear() => _events.Clear();

        internal IReadOnlyList<string> Drain()
        {
            var all = new List<string>();
            while (_events.TryDequeue(out string? item))
            {
                all.Add(item);
            }

            return all;
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "TaskLeak")
            {
                EnableEvents(eventSource, EventLevel.Warning);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventId == 2 && eventData.Payload is { Count: >= 4 } payload)
            {
                _events.Enqueue(payload[0] + " at " + payload[1] + " \u00d7" + payload[3]);
            }
        }
    }
}
