using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using TaskLeak.Diagnostics;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// Finds proven leaks off the application's threads: a background thread woken after garbage collections
/// sweeps the registry, and <see cref="TaskLeakDetector.DetectNow"/> sweeps synchronously.
/// </summary>
internal static class Sweeper
{
    // A sweep is O(slots); never let the background sweeper take more than ~1/MinIntervalFactor of a core.
    private const int MinIntervalFactor = 20;

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
            var thread = new Thread(Run) { IsBackground = true, Name = "TaskLeak sweeper" };
            thread.Start();
            GcNotifier.Start(static () => s_wake.Set());
        }
    }

    /// <summary>Sweeps now, on the calling thread, and dispatches what it proved to the sinks.</summary>
    internal static void SweepNow()
    {
        IReadOnlyList<TaskLeakGroup> found;
        lock (s_sweepLock)
        {
            found = SweepLocked();
        }

        if (found.Count > 0)
        {
            LeakSinks.Publish(found);
        }
    }

    private static IReadOnlyList<TaskLeakGroup> SweepLocked()
    {
        long start = Stopwatch.GetTimestamp();
        var proven = new List<ProvenOperation>();
        OperationRegistry.Sweep(proven);
        IReadOnlyList<TaskLeakGroup> found = proven.Count > 0 ? LeakLedger.Record(proven) : Array.Empty<TaskLeakGroup>();
        long elapsed = Stopwatch.GetTimestamp() - start;
        Interlocked.Exchange(ref s_lastSweepTicks, elapsed);
        Interlocked.Increment(ref s_sweeps);
        Volatile.Write(ref s_nextAllowed, Stopwatch.GetTimestamp() + (elapsed * MinIntervalFactor));
        return found;
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
}
