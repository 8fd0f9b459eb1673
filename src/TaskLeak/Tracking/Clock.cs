using System;
using System.Diagnostics;

namespace TaskLeak.Tracking;

/// <summary>A cheap monotonic millisecond clock for operation ages.</summary>
internal static class Clock
{
#if NET
    internal static long NowMilliseconds() => Environment.TickCount64;
#else
    private static readonly double s_msPerTick = 1000.0 / Stopwatch.Frequency;

    internal static long NowMilliseconds() => (long)(Stopwatch.GetTimestamp() * s_msPerTick);
#endif
}
