using System;
using System.Diagnostics;
using System.Threading;

namespace TaskLeak.Detection;

/// <summary>
/// Periodic detection (<see cref="TaskLeakOptions.DetectionInterval"/>): an idle service runs no full collection, so
/// its dropped frames stay uncollected and unproven. A detector owns one: a background thread of its own calls the
/// detector's detection at most once per interval, counted from the last run (or from when it was turned on); it never
/// runs on an application thread, and what the detection throws is contained and counted by the owner. Off by
/// default: no thread exists until an interval is set. The soundness of what it proves is DetectNow's: nothing here
/// decides a leak.
/// </summary>
internal sealed class PeriodicDetection
{
    internal const string ThreadName = "TaskLeak periodic detection";

    private readonly Func<TimeSpan?> _interval;
    private readonly Action _detect;
    private readonly Action<Exception> _failed;
    private readonly AutoResetEvent _changed = new(false);
    private readonly object _lock = new();
    private Thread? _thread;
    private volatile bool _stopped;
    private long _runs;
    private long _failures;

    /// <param name="interval">Reads the interval in effect (null: off); read again at every wake-up.</param>
    /// <param name="detect">One detection (the owner's DetectNow).</param>
    /// <param name="failed">A detection threw (counted by the owner; the thread carries on).</param>
    internal PeriodicDetection(Func<TimeSpan?> interval, Action detect, Action<Exception> failed)
    {
        _interval = interval;
        _detect = detect;
        _failed = failed;
    }

    /// <summary>Detections run so far.</summary>
    internal long Runs => Interlocked.Read(ref _runs);

    /// <summary>Detections that threw (contained).</summary>
    internal long Failures => Interlocked.Read(ref _failures);

    /// <summary>Whether the thread exists and has not been stopped (it is only started once an interval is set).</summary>
    internal bool Started => Volatile.Read(ref _thread) is not null && !_stopped;

    /// <summary>The thread, once started (tests join it after <see cref="Stop"/>).</summary>
    internal Thread? Thread => Volatile.Read(ref _thread);

    /// <summary>The settings may have changed: starts the thread when an interval is first set, else wakes it to re-read.</summary>
    internal void Changed()
    {
        if (_stopped)
        {
            return;
        }

        if (Volatile.Read(ref _thread) is null)
        {
            if (_interval() is null)
            {
                return;
            }

            lock (_lock)
            {
                if (_thread is null && !_stopped)
                {
                    var thread = new Thread(Run) { IsBackground = true, Name = ThreadName };
                    thread.Start();
                    Volatile.Write(ref _thread, thread);
                    return;
                }
            }
        }

        _changed.Set();
    }

    /// <summary>Ends the thread (after the detection it may be running); it never starts again.</summary>
    internal void Stop()
    {
        lock (_lock)
        {
            _stopped = true;
        }

        _changed.Set();
    }

    private void Run()
    {
        long last = Stopwatch.GetTimestamp();
        while (!_stopped)
        {
            try
            {
                TimeSpan? interval = _interval();
                if (interval is not TimeSpan every)
                {
                    // Off: park until the settings change; the next interval counts from when it was turned back on.
                    _changed.WaitOne();
                    last = Stopwatch.GetTimestamp();
                    continue;
                }

                TimeSpan elapsed = TimeSpan.FromTicks((Stopwatch.GetTimestamp() - last) * TimeSpan.TicksPerSecond / Stopwatch.Frequency);
                if (elapsed < every)
                {
                    // Woken early by a change: loop to re-read the interval (a shorter one may already be due).
                    TimeSpan wait = every - elapsed;
                    _changed.WaitOne(wait > TimeSpan.FromMilliseconds(int.MaxValue) ? TimeSpan.FromMilliseconds(int.MaxValue) : wait);
                    continue;
                }

                last = Stopwatch.GetTimestamp();
                _detect();
                Interlocked.Increment(ref _runs);
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _failures);
                try
                {
                    _failed(e);
                }
                catch (Exception)
                {
                    // Counting is best effort; the thread carries on.
                }
            }
        }
    }
}
