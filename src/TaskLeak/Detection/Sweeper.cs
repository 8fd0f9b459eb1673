using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
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
    // A sweep is O(slots); never let the background sweeper take more than ~1/MinIntervalFactor of a core.
    private const int MinIntervalFactor = 20;

    // Publishing is serialised with sweeping so that DetectNow returns only after every sink has seen what any sweep
    // (background or its own) proved before it; the sweep lock alone guards the registry pass and the tiers' state.
    private static readonly object s_publishLock = new();
    private static readonly object s_sweepLock = new();
    private static readonly AutoResetEvent s_wake = new(false);
    private static int s_started;
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
            GcNotifier.Start(static () => s_wake.Set());
            if (RuntimeSettings.Current.ReportOnProcessExit)
            {
                ExitReport.Register();
            }
        }
    }

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
        IReadOnlyList<TaskLeakGroup> leaks = proven.Count > 0 ? LeakLedger.Record(proven) : Array.Empty<TaskLeakGroup>();
        IReadOnlyList<GrowingSite> growing = liveBySite is not null
            ? GrowthTracker.Observe(liveBySite, options.GrowingSiteSweeps, Math.Max(1, options.GrowingSiteMinimumIncrease))
            : Array.Empty<GrowingSite>();
        IReadOnlyList<StalledOperationGroup> stalled = stall is not null ? StallReporter.NewlyStalled(stall.ToGroups()) : Array.Empty<StalledOperationGroup>();
        long elapsed = Stopwatch.GetTimestamp() - start;
        Interlocked.Exchange(ref s_lastSweepTicks, elapsed);
        Interlocked.Increment(ref s_sweeps);
        Volatile.Write(ref s_nextAllowed, Stopwatch.GetTimestamp() + (elapsed * MinIntervalFactor));
        return new SweepResult(leaks, stalled, growing);
    }

    private static void Run()
    {
        while (true)
        {
            s_wake.WaitOne();
            try
            {
                long wait = Volatile.Read(ref s_nextAllowed) - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    // Coalesce GCs that arrive while we are rate-limited into the next sweep.
                    Thread.Sleep(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
                }

                SweepNow();
            }
            catch (Exception)
            {
                LeakSinks.CountFailure();
            }
        }
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
