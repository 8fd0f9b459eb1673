using System;
using System.Linq;
using NUnit.Framework;

namespace TaskLeak.SmokeTests;

/// <summary>Reachable-but-stuck operations on real woven code: stalled and growing, never proven.</summary>
[NonParallelizable] // Woven code reports to the process's one default detector, which these tests reset and whose leaks they count.
public class TierTests
{
    private const string Method = "TaskLeak.SmokeTests.ChainScenarios.WaitForSignalAsync";
    private TaskLeakOptions _saved = null!;

    [SetUp]
    public void SetUp()
    {
        _saved = TaskLeakDetector.Options;
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
    }

    [TearDown]
    public void TearDown()
    {
        ChainScenarios.ReleaseHeld();

        // Released operations resume on the thread pool; the next test must not count them as its own.
        System.Threading.SpinWait.SpinUntil(
            () => !TaskLeakDetector.GetStalled(TimeSpan.Zero).Any(g => g.Method == Method), TimeSpan.FromSeconds(30));
        TaskLeakDetector.Configure(o =>
        {
            o.GrowingSiteSweeps = _saved.GrowingSiteSweeps;
            o.GrowingSiteMinimumIncrease = _saved.GrowingSiteMinimumIncrease;
        });
    }

    [Test]
    public void Operations_awaiting_sources_kept_in_a_static_are_stalled_never_proven()
    {
        ChainScenarios.StartHeld(4);

        TaskLeakReport report = TaskLeakDetector.DetectNow();
        StalledOperationGroup stalled = TaskLeakDetector.GetStalled(TimeSpan.Zero).Single(g => g.Method == Method);

        Assert.That(report.Leaks.Where(l => l.Method == Method), Is.Empty, "reachable: the stalled tier's business, not a proof");
        Assert.That(stalled.Count, Is.EqualTo(4));
        Assert.That(stalled.AwaitSite, Does.Match(@"^ChainScenarios\.cs:\d+$"));
        Assert.That(stalled.WaitTarget, Is.EqualTo("TaskCompletionSource<int>.Task"));
        Assert.That(stalled.ToString(), Does.Contain(StalledOperationGroup.Label));

        ChainScenarios.ReleaseHeld();
        bool drained = System.Threading.SpinWait.SpinUntil(
            () => !TaskLeakDetector.GetStalled(TimeSpan.Zero).Any(g => g.Method == Method), TimeSpan.FromSeconds(30));
        Assert.That(drained, "completed operations leave the stalled tier");
        Assert.That(TaskLeakDetector.DetectNow().Leaks.Where(l => l.Method == Method), Is.Empty);
    }

    [Test]
    public void A_site_piling_up_operations_across_sweeps_is_growing()
    {
        TaskLeakDetector.Configure(o =>
        {
            o.GrowingSiteSweeps = 3;
            o.GrowingSiteMinimumIncrease = 30;
        });

        for (int wave = 0; wave < 3; wave++)
        {
            ChainScenarios.StartHeld(10);
            TaskLeakDetector.DetectNow();
        }

        GrowingSite site = TaskLeakDetector.GetGrowingSites().Single(g => g.Method == Method);
        Assert.That(site.Count, Is.EqualTo(30));
        Assert.That(site.Increase, Is.EqualTo(30));
        // Background sweeps woken by the collections may land between the waves and lengthen the rising streak.
        Assert.That(site.Sweeps, Is.GreaterThanOrEqualTo(3));
        Assert.That(TaskLeakDetector.GetReport().Leaks.Where(l => l.Method == Method), Is.Empty);
    }
}
