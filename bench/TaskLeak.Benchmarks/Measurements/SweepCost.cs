using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using TaskLeak.Benchmarks.Quick;
using TaskLeak.CompilerServices;
using TaskLeak.Detection;
using TaskLeak.Tracking;

namespace TaskLeak.Benchmarks.Measurements;

/// <summary>
/// The sweep's cost with many operations suspended: the registry is filled through the real first-suspension path
/// (<see cref="OperationTracker.Begin"/>) with live frames, then swept by the background sweeper after a GC and on
/// demand. Nothing is collected, so nothing may be reported. Runs in its own process (the handles stay allocated).
/// </summary>
internal static class SweepCost
{
    private const string Row = "A\u001FSweepCost.SuspendedAsync\u001F\u001F0\u001FIL_0000\u001Fobject\u001F\u001Fasync Task";

    internal static void Measure(WorkerReport report, int[] sizes)
    {
        int site = TaskLeakHooks.RegisterSites(Row, 1);
        var frames = new object[sizes.Max()];
        for (int i = 0; i < frames.Length; i++)
        {
            frames[i] = new object();
        }

        // The frames alone, untracked: the GC figures below then differ only by the registry's long weak handles.
        string all = frames.Length.ToString("N0", CultureInfo.InvariantCulture);
        report.Figures[$"gen2 GC, {all} live frames, none tracked (ms)"] = FullGcMilliseconds();
        int filled = 0;
        foreach (int size in sizes)
        {
            int from = filled;
            long start = Stopwatch.GetTimestamp();
            for (; filled < size; filled++)
            {
                if (Detector.Default.Tracker.Begin(site, null, frames[filled]) == 0)
                {
                    report.Failures.Add($"the registry refused operation {filled}");
                    return;
                }
            }

            string n = size.ToString("N0", CultureInfo.InvariantCulture);
            report.Figures[$"first suspension while filling to {n} (ns/op)"] =
                Stopwatch.GetElapsedTime(start).TotalNanoseconds / Math.Max(1, size - from);

            int tracked = Detector.Default.Registry.CountTracked();
            if (tracked != size)
            {
                report.Failures.Add($"{tracked} operations tracked after registering {size}");
            }

            report.Figures[$"gen2 GC, {n} tracked (ms)"] = FullGcMilliseconds();
            WaitForQuietSweeper();

            // The background sweeper: woken by one GC, on its own thread, while this thread only waits (a GC during
            // the sweep would pause it and inflate the figure, so nothing here allocates until it is done).
            long sweepsBefore = Detector.Default.Sweeper.SweepCount;
            GC.Collect();
            if (!SpinWait.SpinUntil(() => Detector.Default.Sweeper.SweepCount > sweepsBefore, TimeSpan.FromSeconds(10)))
            {
                report.Failures.Add($"no background sweep followed a GC with {n} operations tracked");
            }
            else
            {
                report.Figures[$"background sweep, {n} tracked (ms)"] = TicksToMilliseconds(Detector.Default.Sweeper.LastSweepTicks);
            }

            // On demand, on this thread (what DetectNow adds after its collections): best and median of several.
            var times = new List<double>();
            for (int i = 0; i < 7; i++)
            {
                Detector.Default.SweepNow();
                times.Add(TicksToMilliseconds(Detector.Default.Sweeper.LastSweepTicks));
            }

            times.Sort();
            report.Figures[$"sweep, {n} tracked, best (ms)"] = times[0];
            report.Figures[$"sweep, {n} tracked, median (ms)"] = times[times.Count / 2];
        }

        long proven = Detector.Default.Ledger.TotalProven;
        if (proven != 0)
        {
            report.Failures.Add($"{proven} live operations were reported as leaked");
        }

        GC.KeepAlive(frames);
    }

    private static void WaitForQuietSweeper()
    {
        long seen;
        do
        {
            seen = Detector.Default.Sweeper.SweepCount;
            Thread.Sleep(100);
        }
        while (Detector.Default.Sweeper.SweepCount != seen);
    }

    private static double FullGcMilliseconds()
    {
        var times = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            long start = Stopwatch.GetTimestamp();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        times.Sort();
        return times[1];
    }

    private static double TicksToMilliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
