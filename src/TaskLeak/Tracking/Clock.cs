using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;

namespace TaskLeak.Tracking;

/// <summary>
/// Monotonic milliseconds for operation ages: <see cref="NowMilliseconds"/> reads the system clock,
/// <see cref="CoarseMilliseconds"/> (the first suspension's timestamp) reads a cached value instead.
/// </summary>
/// <remarks>
/// The cached value is valid for one tick: the sweeper's thread invalidates it every <see cref="TickMilliseconds"/>
/// while it is being used, and the first reader after that reads the system clock again. So a timestamp is at most
/// one tick (plus however late the sweeper's thread runs) early, and an idle process has no ticking at all: a tick that
/// finds the value unused stops the ticking, and the next reader restarts it. Stopping and restarting race, so each side
/// writes its flag, fences and reads the other's (at least one of them sees the other): the ticking never stops while
/// the value is valid.
/// </remarks>
internal static class Clock
{
    /// <summary>How long a cached timestamp stays valid.</summary>
    internal const int TickMilliseconds = 10;

    private static long s_cached;
    private static volatile bool s_ticking;

    /// <summary>The system's monotonic millisecond clock.</summary>
#if NET
    internal static long NowMilliseconds() => Environment.TickCount64;
#else
    private static readonly double s_msPerTick = 1000.0 / Stopwatch.Frequency;

    internal static long NowMilliseconds() => (long)(Stopwatch.GetTimestamp() * s_msPerTick);
#endif

    /// <summary>The cached clock: at most one tick behind <see cref="NowMilliseconds"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long CoarseMilliseconds()
    {
        long cached = Volatile.Read(ref s_cached);
        return cached != 0 ? cached : Refresh();
    }

    /// <summary>Whether the ticker is invalidating the cached value (it is in use).</summary>
    internal static bool IsTicking => s_ticking;

    /// <summary>How long the ticker may sleep: one tick while the cached value is in use, else until woken.</summary>
    internal static int TickerTimeout => s_ticking ? TickMilliseconds : Timeout.Infinite;

    /// <summary>On the ticker's thread, at every wake-up: invalidates the cached value, or stops ticking when it went unused.</summary>
    internal static void Tick()
    {
        if (!s_ticking || Interlocked.Exchange(ref s_cached, 0) != 0)
        {
            return;
        }

        s_ticking = false;
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref s_cached) != 0)
        {
            s_ticking = true;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Refresh()
    {
        long now = Math.Max(1, NowMilliseconds());
        Volatile.Write(ref s_cached, now);
        Interlocked.MemoryBarrier();
        if (!s_ticking)
        {
            s_ticking = true;
            Detection.Sweeper.WakeTicker();
        }

        return now;
    }
}
