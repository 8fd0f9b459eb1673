extern alias woven;

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using TaskLeak.Benchmarks.Quick;
using TaskLeak.Detection;
using W = woven::TaskLeak.Benchmarks.Workloads;

namespace TaskLeak.Benchmarks.Measurements;

/// <summary>
/// From the GC that collects a leaked frame to the <see cref="TaskLeakDetector.LeakDetected"/> event: the GC notifier's
/// finalizer wakes the background sweeper, which proves the leak and records it, and the publisher thread raises the event. Measured after an
/// induced blocking gen2 GC (timed from GC.Collect's return) and after an ordinary allocation-triggered gen0 GC (timed
/// from the first allocation that sees the collection count move).
/// </summary>
internal static class ReportLatency
{
    private static readonly ManualResetEventSlim s_reported = new();
    private static long s_reportedAt;
    private static string? s_thread;

    internal static void Measure(WorkerReport report, int trials)
    {
        TaskLeakDetector.LeakDetected += OnLeakDetected;
        try
        {
            Run(report, "induced gen2 GC", trials, InducedGc);
            Run(report, "allocation-triggered GC", trials, AllocateUntilGc);
            report.Notes.Add($"LeakDetected was raised on thread '{s_thread}' (the application thread only waited)");
            // The sweeper proves; the runtime's publisher thread raises the event (a slow handler never delays a sweep).
            if (s_thread is not ("TaskLeak publisher" or "TaskLeak sweeper"))
            {
                report.Failures.Add($"LeakDetected was raised on '{s_thread}', not on the runtime's background threads");
            }
        }
        finally
        {
            TaskLeakDetector.LeakDetected -= OnLeakDetected;
        }
    }

    private static void Run(WorkerReport report, string label, int trials, Func<long> collect)
    {
        var latencies = new List<double>();
        var sweeps = new List<double>();
        for (int trial = 0; trial < trials; trial++)
        {
            W.Workload.StartLeak();
            Thread.Sleep(5);
            s_reported.Reset();
            long collectedAt = collect();
            if (!s_reported.Wait(TimeSpan.FromSeconds(5)))
            {
                report.Failures.Add($"{label}: no LeakDetected within 5 s (trial {trial})");
                return;
            }

            latencies.Add(Stopwatch.GetElapsedTime(collectedAt, Volatile.Read(ref s_reportedAt)).TotalMilliseconds);
            sweeps.Add(Detector.Default.Sweeper.LastSweepTicks * 1000.0 / Stopwatch.Frequency);
            Thread.Sleep(20);
        }

        // In trial order, with the duration of the sweep that reported: a slow sweep rate-limits the next one.
        report.Notes.Add($"{label}: latency per trial (ms) {string.Join(" ", latencies.Select(l => l.ToString("F2", CultureInfo.InvariantCulture)))}; " +
            $"reporting sweep (ms) {string.Join(" ", sweeps.Select(l => l.ToString("F2", CultureInfo.InvariantCulture)))}");

        report.Figures[$"{label} -> LeakDetected, first (ms)"] = latencies[0];
        latencies.RemoveAt(0);
        latencies.Sort();
        if (latencies.Count > 0)
        {
            report.Figures[$"{label} -> LeakDetected, median (ms)"] = latencies[latencies.Count / 2];
            report.Figures[$"{label} -> LeakDetected, max (ms)"] = latencies[^1];
        }
    }

    private static long InducedGc()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        return Stopwatch.GetTimestamp();
    }

    private static long AllocateUntilGc()
    {
        int before = GC.CollectionCount(0);
        while (GC.CollectionCount(0) == before)
        {
            GC.KeepAlive(new byte[256]);
        }

        return Stopwatch.GetTimestamp();
    }

    private static void OnLeakDetected(object? sender, TaskLeakDetectedEventArgs e)
    {
        Volatile.Write(ref s_reportedAt, Stopwatch.GetTimestamp());
        s_thread = Thread.CurrentThread.Name;
        s_reported.Set();
    }
}
