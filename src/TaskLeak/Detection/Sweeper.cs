using System;
using System.Diagnostics;
using System.Threading;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// A detector's background thread: woken after garbage collections (<see cref="GcNotifier"/>) it runs the detector's
/// sweep, and at every wake-up it ticks the detector's coarse clock. It never publishes: findings go to the detector's
/// publisher, whose own thread calls the sinks, so a slow sink never delays a sweep.
/// </summary>
internal sealed class Sweeper
{
    // A registry pass is O(slots): the background sweeper waits MinIntervalFactor times the last pass's duration before
    // the next one (GCs meanwhile coalesce into it), so it takes at most ~1/MinIntervalFactor of a core, and never more
    // than MaxHoldOffMilliseconds, so that a report stays close to its GC.
    private const int MinIntervalFactor = 20;
    private const int MaxHoldOffMilliseconds = 50;

    private readonly AutoResetEvent _wake = new(false);
    private readonly Clock _clock;
    private readonly Action _sweep;
    private readonly Action<Exception> _failed;
    private volatile bool _stopped;
    private int _gcPending;
    private long _nextAllowed;
    private long _lastSweepTicks;
    private long _sweeps;

    /// <param name="clock">The clock this thread ticks.</param>
    /// <param name="sweep">One sweep of the owner (prove, tiers, enqueue for publication); it reports its pass through <see cref="RecordPass"/>.</param>
    /// <param name="failed">A sweep threw (counted by the owner; the thread carries on).</param>
    internal Sweeper(Clock clock, Action sweep, Action<Exception> failed)
    {
        _clock = clock;
        _sweep = sweep;
        _failed = failed;
    }

    internal long SweepCount => Interlocked.Read(ref _sweeps);

    /// <summary>Duration of the last sweep, in <see cref="Stopwatch"/> ticks.</summary>
    internal long LastSweepTicks => Interlocked.Read(ref _lastSweepTicks);

    /// <summary>After every sweep (background or on demand): the hold-off follows the pass over the registry, not the reports.</summary>
    internal void RecordPass(long passTicks, long totalTicks)
    {
        Interlocked.Exchange(ref _lastSweepTicks, totalTicks);
        Interlocked.Increment(ref _sweeps);
        long holdOff = Math.Min(passTicks * MinIntervalFactor, Stopwatch.Frequency * MaxHoldOffMilliseconds / 1000);
        Volatile.Write(ref _nextAllowed, Stopwatch.GetTimestamp() + holdOff);
    }

    /// <summary>From the GC notifier: a collection ended. False once stopped (the notifier then stops re-arming).</summary>
    internal bool OnCollection()
    {
        if (_stopped)
        {
            return false;
        }

        Volatile.Write(ref _gcPending, 1);
        _wake.Set();
        return true;
    }

    /// <summary>Wakes the thread to tick the clock.</summary>
    internal void Wake() => _wake.Set();

    internal void Stop()
    {
        _stopped = true;
        _wake.Set();
    }

    /// <summary>The thread's body.</summary>
    internal void Run()
    {
        while (!_stopped)
        {
            bool woken = _wake.WaitOne(_clock.TickerTimeout);
            _clock.Tick();
            if (_stopped || !woken || Interlocked.Exchange(ref _gcPending, 0) == 0)
            {
                continue;
            }

            try
            {
                long wait = Volatile.Read(ref _nextAllowed) - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    // Coalesce GCs that arrive while we are rate-limited into the next sweep.
                    Thread.Sleep(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
                }

                Interlocked.Exchange(ref _gcPending, 0);
                _sweep();
            }
            catch (Exception e)
            {
                _failed(e);
            }
        }
    }
}
