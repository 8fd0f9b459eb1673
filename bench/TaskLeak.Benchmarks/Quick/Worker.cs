using System;
using TaskLeak.Benchmarks.Measurements;
using TaskLeak.Benchmarks.Modes;
using TaskLeak.Benchmarks.Smoke;
using TaskLeak.Detection;
using TaskLeak.Tracking;

namespace TaskLeak.Benchmarks.Quick;

/// <summary>The kinds of child process the quick and smoke runners start; each writes a <see cref="WorkerReport"/>.</summary>
internal static class Worker
{
    internal const string Workloads = "workloads";
    internal const string Hooks = "hooks";
    internal const string Sweep = "sweep";
    internal const string Latency = "latency";
    internal const string Weave = "weave";
    internal const string SmokeChecks = "smoke";

    /// <summary>The workloads the stacks-off variant runs in the quick mode (the suspending Task shapes and one other).</summary>
    internal static readonly string[] NoStacksWorkloads = { "InlineSuspension", "TaskSourceSuspension", "Chain10", "ValueTaskSuspension" };

    /// <summary>Runs one worker in this process. <paramref name="small"/>: the smoke-sized variant.</summary>
    internal static int Run(string name, string output, bool small)
    {
        var report = new WorkerReport { Worker = name, Mode = ProcessMode.Current.ToString() };
        try
        {
            switch (name)
            {
                case Workloads:
                    ProcessMode.Activate();
                    report.Benchmarks = InProcessBenchmarks.Run(typeof(QuickAsyncWorkloads), TimeSpan.FromMilliseconds(60), 3, 7, report.Failures,
                        ProcessMode.Current == BenchMode.WovenNoStacks ? NoStacksWorkloads : null);
                    CheckAfterWorkloads(report);
                    break;
                case Hooks:
                    report.Benchmarks = InProcessBenchmarks.Run(typeof(HookCosts), TimeSpan.FromMilliseconds(40), 2, 5, report.Failures);
                    break;
                case Sweep:
                    SweepCost.Measure(report, small ? new[] { 10_000 } : new[] { 100_000, 1_000_000 });
                    break;
                case Latency:
                    ReportLatency.Measure(report, small ? 2 : 10);
                    break;
                case Weave:
                    WeaveTime.Measure(report, small ? 100 : 10_000, small ? 1 : 2);
                    break;
                case SmokeChecks:
                    ProcessMode.Activate();
                    SmokeWorkloads.RunWorkloads(report);
                    CheckAfterWorkloads(report);
                    SmokeWorkloads.CheckMode(report);
                    break;
                default:
                    report.Failures.Add($"unknown worker '{name}'");
                    break;
            }
        }
        catch (Exception e)
        {
            report.Failures.Add($"{name} ({report.Mode}) threw {e}");
        }

        report.Save(output);
        return report.Failures.Count == 0 ? 0 : 1;
    }

    /// <summary>After every workload ran to completion: the mode still holds and nothing was left behind or misreported.</summary>
    private static void CheckAfterWorkloads(WorkerReport report)
    {
        string? problem = ProcessMode.Check();
        Check(report, problem is null, $"mode {report.Mode} still in effect after the workloads{(problem is null ? "" : ": " + problem)}");
        if (ProcessMode.Woven)
        {
            Check(report, TaskLeakDetector.PendingCount == 0, $"no woven operation left pending ({TaskLeakDetector.PendingCount})");
            Check(report, Detector.Default.InternalErrors == 0, $"no internal tracker error ({Detector.Default.InternalErrors})");
            Check(report, Detector.Default.Ledger.TotalProven == 0, $"no completed operation reported as leaked ({Detector.Default.Ledger.TotalProven})");
        }

        if (ProcessMode.Current == BenchMode.Event27)
        {
            Check(report, IncompleteAsyncMethodListener.IncompleteAsyncMethods == 0,
                $"no event 27 for completed methods ({IncompleteAsyncMethodListener.IncompleteAsyncMethods})");
        }
    }

    internal static void Check(WorkerReport report, bool condition, string what)
    {
        if (condition)
        {
            report.Passed.Add(what);
        }
        else
        {
            report.Failures.Add(what);
        }
    }
}
