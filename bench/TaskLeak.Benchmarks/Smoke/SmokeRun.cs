using System;
using TaskLeak.Benchmarks.Modes;
using TaskLeak.Benchmarks.Quick;

namespace TaskLeak.Benchmarks.Smoke;

/// <summary>
/// <c>--smoke</c>: the CI check that the suite builds and runs. Every workload once in every mode (each in its own
/// process, untimed) plus small sweep, report-latency and weave measurements; prints <c>N passed, N failed</c> last.
/// </summary>
internal static class SmokeRun
{
    internal static int Run()
    {
        int passed = 0;
        int failed = 0;
        foreach (BenchMode mode in Enum.GetValues<BenchMode>())
        {
            Count(Worker.SmokeChecks, mode, ref passed, ref failed);
        }

        Count(Worker.Sweep, BenchMode.Woven, ref passed, ref failed);
        Count(Worker.Latency, BenchMode.Woven, ref passed, ref failed);
        Count(Worker.Weave, BenchMode.Woven, ref passed, ref failed);
        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static void Count(string worker, BenchMode mode, ref int passed, ref int failed)
    {
        (WorkerReport report, TimeSpan elapsed) = ChildProcess.RunWorker(worker, mode, small: true);
        Console.WriteLine($"== {worker} ({mode}), {elapsed.TotalSeconds:F1} s");
        foreach (string check in report.Passed)
        {
            Console.WriteLine($"  ok: {check}");
        }

        foreach (string failure in report.Failures)
        {
            Console.WriteLine($"  FAILED: {failure}");
        }

        // A measurement worker makes no named checks: it passes as one check when it ran without a failure.
        bool measurement = report.Passed.Count == 0;
        passed += measurement ? (report.Failures.Count == 0 ? 1 : 0) : report.Passed.Count;
        failed += report.Failures.Count;
        if (measurement && report.Failures.Count == 0)
        {
            Console.WriteLine($"  ok: {worker} measured {string.Join(", ", report.Figures.Keys)}");
        }
    }
}
