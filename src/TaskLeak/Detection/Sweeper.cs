using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using TaskLeak.Configuration;
using TaskLeak.Diagnostics;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// Finds proven leaks off the application's threads: a background thread woken after garbage collections
/// sweeps the registry, and <see cref="TaskLeakDetector.DetectNow"/> sweeps synchronously. The same pass over the
/// registry feeds the suspected tiers (growing sites, stalled operations); they never share a result type with leaks.
/// </summary>
internal static class Sweeper
{
    // A registry pass is O(slots): the background sweeper waits MinIntervalFactor times the last pass's duration before
    // the next one (GCs meanwhile coalesce into it), so it takes at most ~1/MinIntervalFactor of a core, and never more
    // than MaxHoldOffMilliseconds, so that a report stays close to its GC.
    private const int MinIntervalFactor = 20;
    private const int MaxHoldOffMilliseconds = 50;

    // Publishing is serialised with sweeping so that DetectNow returns only after every sink has seen what any sweep
    // (background or its own) proved before it; the sweep lock alone guards the registry pass and the tiers' state.
    private static readonly object s_publishLock = new();
    private static readonly object s_sweepLock = new();
    private static readonly AutoResetEvent s_wake = new(false);
    private static int s_started;
    private static int s_gcPending;
    private static long s_lastSweepTicks;
    private static long s_nextAllowed;
    private static long s_sweeps;

    internal static long SweepCount => Interlocked.Read(ref s_sweeps);

    /// <summary>Duration of the last sweep, in <see cref="Stopwatch"/> ticks.</summary>
    internal static long LastSweepTicks => Interlocked.Read(ref s_lastSweepTicks);

    internal static void EnsureStarted()
    {
        if (Volatile.Read(ref s_started) == 0 && Interlocked.Exchange(ref s_started, 1) == 0)
        {
            LeakSinks.Initialize();
            var thread = new Thread(Run) { IsBackground = true, Name = "TaskLeak sweeper" };
            thread.Start();
            GcNotifier.Start(static () =>
            {
                Volatile.Write(ref s_gcPending, 1);
                s_wake.Set();
            });
            if (RuntimeSettings.Current.ReportOnProcessExit)
            {
                ExitReport.Register();
            }

            PeriodicDetection.Default.Changed();
        }
    }

    /// <summary>Wakes the sweeper's thread to tick the coarse clock (<see cref="Clock"/>).</summary>
    internal static void WakeTicker()
    {
        EnsureStarted();
        s_wake.Set();
    }

    /// <summary>
    /// Holds off every sweep (background or on demand) until disposed, on the calling thread: tests register a batch of
    /// operations inside it so that no sweep sees half of the batch.
    /// </summary>
    internal static SweepPause Pause() => new(s_sweepLock);

    /// <summary>Sweeps now, on the calling thread, and dispatches what it found to the sinks.</summary>
    internal static void SweepNow()
    {
        lock (s_publishLock)
        {
            SweepResult result;
            lock (s_sweepLock)
            {
                result = SweepLocked();
            }

            if (result.Leaks.Count > 0)
            {
                LeakSinks.Publish(result.Leaks);
            }

            if (result.Stalled.Count > 0)
            {
                LeakSinks.PublishStalled(result.Stalled);
            }

            if (result.Growing.Count > 0)
            {
                LeakSinks.PublishGrowing(result.Growing);
            }
        }
    }

    /// <summary>Live operations sitting at their await for at least <paramref name="threshold"/>, grouped by site.</summary>
    internal static IReadOnlyList<StalledOperationGroup> GetStalled(TimeSpan threshold)
    {
        lock (s_sweepLock)
        {
            var check = new StallCheck(Clock.NowMilliseconds(), threshold);
            OperationRegistry.VisitLive((int _, int generation, int site, ref Slot slot) => check.Observe(ref slot, site, generation));
            return check.ToGroups();
        }
    }

    /// <summary>Forgets the suspected tiers' history (streaks, what was already reported).</summary>
    internal static void ResetTiers()
    {
        lock (s_sweepLock)
        {
            GrowthTracker.Reset();
            StallReporter.Reset();
        }
    }

    private static SweepResult SweepLocked()
    {
        long start = Stopwatch.GetTimestamp();
        TaskLeakOptions options = RuntimeSettings.Current;
        var proven = new List<ProvenOperation>();
        int[]? liveBySite = GrowthTracker.NewCounts(options.GrowingSiteSweeps);
        StallCheck? stall = options.StalledThreshold is TimeSpan threshold ? new StallCheck(Clock.NowMilliseconds(), threshold) : null;
        OperationRegistry.Sweep(proven, liveBySite, stall);
        long pass = Stopwatch.GetTimestamp() - start;
        IReadOnlyList<TaskLeakGroup> leaks = proven.Count > 0 ? LeakLedger.Record(proven) : Array.Empty<TaskLeakGroup>();
        IReadOnlyList<GrowingSite> growing = liveBySite is not null
            ? GrowthTracker.Observe(liveBySite, options.GrowingSiteSweeps, Math.Max(1, options.GrowingSiteMinimumIncrease))
            : Array.Empty<GrowingSite>();
        IReadOnlyList<StalledOperationGroup> stalled = stall is not null ? StallReporter.NewlyStalled(stall.ToGroups()) : Array.Empty<StalledOperationGroup>();
        long end = Stopwatch.GetTimestamp();
        Interlocked.Exchange(ref s_lastSweepTicks, end - start);
        Interlocked.Increment(ref s_sweeps);
        // The hold-off follows the pass over the registry (what grows with it), not the reports (what leaks cost).
        long holdOff = Math.Min(pass * MinIntervalFactor, Stopwatch.Frequency * MaxHoldOffMilliseconds / 1000);
        Volatile.Write(ref s_nextAllowed, end + holdOff);
        return new SweepResult(leaks, stalled, growing);
    }

    private static void Run()
    {
        WarmUp();
        while (true)
        {
            bool woken = s_wake.WaitOne(Clock.TickerTimeout);
            Clock.Tick();
            if (!woken || Interlocked.Exchange(ref s_gcPending, 0) == 0)
            {
                continue;
            }

            try
            {
                long wait = Volatile.Read(ref s_nextAllowed) - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    // Coalesce GCs that arrive while we are rate-limited into the next sweep.
                    Thread.Sleep(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
                }

                Interlocked.Exchange(ref s_gcPending, 0);
                SweepNow();
            }
            catch (Exception)
            {
                LeakSinks.CountFailure();
            }
        }
    }

    /// <summary>
    /// Once, when the sweeper starts (at the process's first suspension): compiles the registry pass and the sinks, and
    /// runs what the first leak would otherwise compile on its way to them (formatting a stack taken inside an async
    /// method, type names, the site tables, the ledger's grouping and the report's text) on this thread and on made-up
    /// data, so that the first report, like every other, comes right after its GC (quick mode: 26 ms after it without this,
    /// 7 ms with it; the warm-up itself takes ~40 ms of this thread).
    /// </summary>
    private static void WarmUp()
    {
        try
        {
            Action<List<ProvenOperation>, int[]?, StallCheck?> pass = OperationRegistry.Sweep;
            Action<IReadOnlyList<TaskLeakGroup>> publish = LeakSinks.Publish;
            Action<TaskLeakGroup> meter = LeakMetrics.RecordLeaked;
            foreach (Delegate method in new Delegate[] { pass, publish, meter })
            {
                System.Runtime.CompilerServices.RuntimeHelpers.PrepareMethod(method.Method.MethodHandle);
            }

            // Real creation stacks are taken inside an async method's MoveNext, which StackTrace resolves by reflection.
            StackTrace stack = CaptureInsideAsyncMethod().Result;
            _ = Reporting.StackFormatter.Format(stack);
            _ = Reporting.TypeNames.Format(typeof(TaskCompletionSource<KeyValuePair<int, string>>));
            SiteRegistry.ParseAll();
            LeakLedger.Warm(stack);
        }
        catch (Exception)
        {
            LeakSinks.CountFailure();
        }
    }

#pragma warning disable CS1998 // Completes synchronously on purpose: only its frame matters.
    private static async Task<StackTrace> CaptureInsideAsyncMethod() => new StackTrace(0, false);
#pragma warning restore CS1998

    internal readonly struct SweepPause : IDisposable
    {
        private readonly object _lock;

        internal SweepPause(object sweepLock)
        {
            _lock = sweepLock;
            Monitor.Enter(_lock);
        }

        public void Dispose() => Monitor.Exit(_lock);
    }

    private readonly struct SweepResult
    {
        internal SweepResult(IReadOnlyList<TaskLeakGroup> leaks, IReadOnlyList<StalledOperationGroup> stalled, IReadOnlyList<GrowingSite> growing)
        {
            Leaks = leaks;
            Stalled = stalled;
            Growing = growing;
        }

        internal IReadOnlyList<TaskLeakGroup> Leaks { get; }
        internal IReadOnlyList<StalledOperationGroup> Stalled { get; }
        internal IReadOnlyList<GrowingSite> Growing { get; }
    }
}
