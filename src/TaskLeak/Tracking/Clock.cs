using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;

namespace TaskLeak.Tracking;

/// <summary>
/// Monotonic milliseconds for operation ages: <see cref="NowMilliseconds"/> reads the system clock,
/// <see cref="CoarseMilliseconds"/> (the first suspension's timestamp) reads a cached value instead when a ticker
/// invalidates it (a detector's background thread); without a ticker every read is the system clock.
/// </summary>
/// <remarks>
/// The cached value is valid for one tick: the ticker invalidates it every <see cref="TickMilliseconds"/> while it is
/// being used, and the first reader after that reads the system clock again. So a timestamp is at most one tick (plus
/// however late the ticker runs) early, and an idle process has no ticking at all: a tick that finds the value unused
/// stops the ticking, and the next reader restarts it (through the wake callback, which the owner supplies: this type
/// knows nothing of the thread that ticks it). Stopping and restarting race, so each side writes its flag, fences and
/// reads the other's (at least one of them sees the other): the ticking never stops while the value is valid.
/// </remarks>
internal sealed class Clock
{
    /// <summary>How long a cached timestamp stays valid.</summary>
    internal const int TickMilliseconds = 10;

    private readonly Action? _wake;
    private long _cached;
    private volatile bool _ticking;

    /// <param name="wake">Wakes the ticker when the cached value comes into use; null: no ticker, no caching.</param>
    internal Clock(Action? wake) => _wake = wake;

    /// <summary>The system's monotonic millisecond clock.</summary>
#if NET
    internal static long NowMilliseconds() => Environment.TickCount64;
#else
    private static readonly double s_msPerTick = 1000.0 / Stopwatch.Frequency;

    internal static long NowMilliseconds() => (long)(Stopwatch.GetTimestamp() * s_msPerTick);
#endif

    /// <summary>The cached clock: at most one tick behind <see cref="NowMilliseconds"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal long CoarseMilliseconds()
    {
        long cached = Volatile.Read(ref _cached);
        return cached != 0 ? cached : Refresh();
    }

    /// <summary>Whether the ticker is invalidating the cached value (it is in use).</summary>
    internal bool IsTicking => _ticking;

    /// <summary>How long the ticker may sleep: one tick while the cached value is in use, else until woken.</summary>
    internal int TickerTimeout => _ticking ? TickMilliseconds : Timeout.Infinite;

    /// <summary>On the ticker's thread, at every wake-up: invalidates the cached value, or stops ticking when it went unused.</summary>
    internal void Tick()
    {
        if (!_ticking || Interlocked.Exchange(ref _cached, 0) != 0)
        {
            return;
        }

        _ticking = false;
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _cached) != 0)
        {
            _ticking = true;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Refresh()
    {
        long now = Math.Max(1, NowMilliseconds());
        if (_wake is null)
        {
            return now;
        }

        // Value before flag: a tick that reads the flag false after our fence sees this value and restarts (see remarks).
        Volatile.Write(ref _cached, now);
        Interlocked.MemoryBarrier();
        if (!_ticking)
        {
            _ticking = true;
            _wake();
        }

        return now;
    }
}
