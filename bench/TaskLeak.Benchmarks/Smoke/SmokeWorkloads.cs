extern alias plain;
extern alias woven;

using System;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using TaskLeak.Benchmarks.Modes;
using TaskLeak.Benchmarks.Quick;
using TaskLeak.Tracking;
using P = plain::TaskLeak.Benchmarks.Workloads;
using W = woven::TaskLeak.Benchmarks.Workloads;

namespace TaskLeak.Benchmarks.Smoke;

/// <summary>
/// One untimed pass over every workload in this process's mode, checking each result, and checks that the mode
/// really does what it claims: the woven build tracks its suspensions, the plain one is untouched, event 27 makes
/// boxes finalizable and fires for a collected method, debugger tracking lists pending tasks.
/// </summary>
internal static class SmokeWorkloads
{
    private const string OperationField = "<>tl__operation";

    internal static void RunWorkloads(WorkerReport report)
    {
        var workloads = new QuickAsyncWorkloads();
        workloads.Setup();
        Expect(report, "SyncCompletion", workloads.SyncCompletion(), 2);
        Expect(report, "InlineSuspension", workloads.InlineSuspension(), 1);
        Expect(report, "TaskSourceSuspension", workloads.TaskSourceSuspension(), 1);
        Expect(report, "ThreeAwaits", workloads.ThreeAwaits(), 3);
        Expect(report, "TaskYield", workloads.TaskYield(), 1);
        Expect(report, "TaskRun", workloads.TaskRun(), 1);
        Expect(report, "Chain10", workloads.Chain10(), P.Workload.ChainDepth - 1);
        Expect(report, "ParallelAllCores", workloads.ParallelAllCores(), WorkloadBenchmarks.ParallelOperations);
        Expect(report, "ValueTaskSuspension", workloads.ValueTaskSuspension(), 1);
        Expect(report, "AsyncIterator", workloads.AsyncIterator(), 0 + 1 + 2);
    }

    /// <summary>The mode's own behaviour (may leak on purpose, so it runs after the post-workload checks).</summary>
    internal static void CheckMode(WorkerReport report)
    {
        switch (ProcessMode.Current)
        {
            case BenchMode.Plain:
                Worker.Check(report, !HasOperationField(typeof(P.Workload).Assembly), "the plain build is not woven");
                Worker.Check(report, HasOperationField(typeof(W.Workload).Assembly), "the woven build is woven");
                Worker.Check(report, Detector.Default.Registry.Capacity == 0, $"the plain build never reached the registry ({Detector.Default.Registry.Capacity} slots)");
                break;
            case BenchMode.Woven:
            case BenchMode.WovenNoStacks:
                CheckWovenTracking(report);
                break;
            case BenchMode.Event27:
                CheckEvent27(report);
                break;
            case BenchMode.DebuggerTracking:
                CheckDebuggerTracking(report);
                break;
        }
    }

    private static void Expect(WorkerReport report, string workload, int actual, int expected) =>
        Worker.Check(report, actual == expected, $"{workload} returns {expected} (got {actual})");

    private static bool HasOperationField(Assembly assembly) =>
        assembly.GetTypes().Any(t => t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Any(f => f.Name == OperationField));

    private static void CheckWovenTracking(WorkerReport report)
    {
        var resumer = new W.Resumer();
        int before = TaskLeakDetector.PendingCount;
        Task<int> task = W.Workload.StartSuspended(resumer);
        int during = TaskLeakDetector.PendingCount;
        resumer.Resume();
        int after = TaskLeakDetector.PendingCount;
        Worker.Check(report, during == before + 1 && after == before && task.Result == 1,
            $"a woven suspension is tracked until it completes (pending {before} -> {during} -> {after})");
    }

    private static void CheckEvent27(WorkerReport report)
    {
        var resumer = new P.Resumer();
        Task<int> task = P.Workload.StartSuspended(resumer);
        string box = task.GetType().Name;
        resumer.Resume();
        Worker.Check(report, box.Contains("DebugFinalizable", StringComparison.Ordinal), $"with event 27 on, async boxes are finalizable ({box})");

        int before = IncompleteAsyncMethodListener.IncompleteAsyncMethods;
        P.Workload.StartLeak();
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        int after = IncompleteAsyncMethodListener.IncompleteAsyncMethods;
        Worker.Check(report, after > before, $"event 27 fires for a collected incomplete method ({before} -> {after})");
    }

    private static void CheckDebuggerTracking(WorkerReport report)
    {
        var resumer = new P.Resumer();
        int before = DebuggerTaskTracking.ActiveCount;
        Task<int> task = StartAndCount(resumer, out int during);
        resumer.Resume();
        int after = DebuggerTaskTracking.ActiveCount;
        Worker.Check(report, during == before + 1 && after == before && task.Result == 1,
            $"with debugger tracking on, a pending async method is listed until it completes ({before} -> {during} -> {after})");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Task<int> StartAndCount(P.Resumer resumer, out int active)
    {
        Task<int> task = P.Workload.StartSuspended(resumer);
        active = DebuggerTaskTracking.ActiveCount;
        return task;
    }
}
