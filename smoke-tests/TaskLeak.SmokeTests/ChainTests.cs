using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.SmokeTests;

/// <summary>Root causes on real woven code: a chain is one leak, rooted at its innermost await, with its logical async stack.</summary>
[NonParallelizable] // Woven code reports to the process's one default detector, which these tests reset and whose leaks they count.
public class ChainTests
{
    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
    }

    [Test]
    public void A_chain_of_three_is_one_leak_rooted_at_the_innermost_await()
    {
        Scenarios.StartChain();

        TaskLeakReport report = TaskLeakDetector.DetectNow();

        TaskLeakGroup leak = report.Leaks.Single();
        Assert.That(report.TotalCount, Is.EqualTo(1));
        Assert.That(leak.Method, Is.EqualTo("TaskLeak.SmokeTests.Scenarios.InnerAsync"));
        Assert.That(leak.AwaiterCount, Is.EqualTo(2));
        Assert.That(leak.AsyncStack.Select(f => (f.Kind, f.Method)), Is.EqualTo(new[]
        {
            (AsyncStackFrameKind.AwaitedBy, "TaskLeak.SmokeTests.Scenarios.MiddleAsync"),
            (AsyncStackFrameKind.AwaitedBy, "TaskLeak.SmokeTests.Scenarios.OuterAsync"),
        }));
        Assert.That(leak.AsyncStack.Select(f => f.Location), Has.All.Match(@"^Scenarios\.cs:\d+$"));
    }

    [Test]
    public async Task A_chain_started_on_a_resumption_is_one_leak_with_its_awaiters()
    {
        await ChainScenarios.StartChainAfterYield();
        bool suspended = SpinWait.SpinUntil(
            () => TaskLeakDetector.Snapshot().Groups.Count(g => g.Method.StartsWith("TaskLeak.SmokeTests.ChainScenarios.", StringComparison.Ordinal)) == 3,
            TimeSpan.FromSeconds(30));
        Assert.That(suspended, "all three operations suspended");

        TaskLeakReport report = TaskLeakDetector.DetectNow();

        TaskLeakGroup leak = report.Leaks.Single();
        Assert.That(leak.Method, Is.EqualTo("TaskLeak.SmokeTests.ChainScenarios.ReadReplyAsync"));
        Assert.That(leak.WaitTarget, Is.EqualTo("TaskCompletionSource<int>.Task (Task<int>)"));
        Assert.That(leak.AwaitedBy.Select(a => a.Substring(0, a.IndexOf(' '))), Is.EqualTo(new[]
        {
            "TaskLeak.SmokeTests.ChainScenarios.LoadOrderAsync",
            "TaskLeak.SmokeTests.ChainScenarios.HandleRequestAsync",
        }));
        Assert.That(leak.Chain, Does.StartWith("TaskLeak.SmokeTests.ChainScenarios.ReadReplyAsync (ChainScenarios.cs:"));
        TestContext.Out.WriteLine(report.ToString());
        TestContext.Out.WriteLine(report.ToJson());
    }
}
