using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace TaskLeak.MSTest.Samples;

/// <summary>
/// Three tests that provably run at the same time (method-level parallelism; each waits at a barrier for the other
/// two). Two leak; the third does not, and before it ends it waits until both siblings' leaks are proven, so the
/// proofs land while its own scope is open. Only attribution by ExecutionContext keeps it green.
/// </summary>
[TestClass]
public class ParallelSiblings
{
    private static readonly Barrier s_allRunning = new(3);
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(60);

    [TestMethod]
    public void Leaks_directly()
    {
        Operations.Drop(Operations.DirectAsync);
        MeetSiblings();
    }

    [TestMethod]
    public async Task Leaks_in_work_it_spawned_after_an_await()
    {
        await Task.Yield();
        await Task.Run(() => Operations.Drop(Operations.SpawnedAsync));
        MeetSiblings();
    }

    [TestMethod]
    public async Task Completes_its_work_while_siblings_leak()
    {
        var source = new TaskCompletionSource<int>();
        Task work = Operations.DirectAsync(source);
        MeetSiblings();

        // Keep this test's scope open until the siblings' leaks are proven (by anyone's collection).
        bool proven = SpinWait.SpinUntil(() =>
        {
            TaskLeakReport report = TaskLeakDetector.DetectNow();
            return report.Leaks.Any(l => l.Method.EndsWith(".DirectAsync", StringComparison.Ordinal))
                && report.Leaks.Any(l => l.Method.EndsWith(".SpawnedAsync", StringComparison.Ordinal));
        }, s_patience);
        Assert.IsTrue(proven, "the siblings' leaks were never proven");

        source.SetResult(1);
        await work;
    }

    private static void MeetSiblings() => Assert.IsTrue(s_allRunning.SignalAndWait(s_patience), "the three sibling tests did not run in parallel");
}
