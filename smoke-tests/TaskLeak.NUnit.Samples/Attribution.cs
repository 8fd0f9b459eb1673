using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.NUnit.Samples;

/// <summary>Work started before the test (OneTimeSetUp) belongs to no test: not blamed, even when proven during one.</summary>
[Parallelizable(ParallelScope.All)]
public class WorkStartedBeforeTheTest
{
    private static readonly TaskCompletionSource<int> s_parking = Operations.NewParking();

    [OneTimeSetUp]
    public void StartWork()
    {
        Operations.Drop(Operations.BeforeTestAsync);
        _ = Operations.ParkedAsync(s_parking);
    }

    [OneTimeTearDown]
    public void Release() => s_parking.TrySetResult(0);

    [Test]
    public void Its_leak_is_not_blamed_on_the_test() =>
        Assert.That(TaskLeakDetector.DetectNow().Leaks.Any(l => l.Method.EndsWith(".BeforeTestAsync", System.StringComparison.Ordinal)),
            "the OneTimeSetUp leak is proven while this test runs");

    [Test]
    [DetectTaskLeaks(OnStalled = TaskLeakAction.Fail, PendingTimeoutMilliseconds = 0)]
    public void Its_pending_operations_are_not_blamed_on_the_test() =>
        Assert.That(TaskLeakDetector.Snapshot().Groups.Any(g => g.Method.EndsWith(".ParkedAsync", System.StringComparison.Ordinal)));

    [Test]
    public void Work_that_suppresses_flow_escapes_test_attribution()
    {
        using (ExecutionContext.SuppressFlow())
        {
            Task.Run(() => Operations.Drop(Operations.EscapedUnattributedAsync)).Wait();
        }
    }
}

/// <summary>goleak's model: everything in the process, minus what was there when the test began. Never in parallel.</summary>
[NonParallelizable]
[DetectTaskLeaks(Attribution = TaskLeakAttribution.Process)]
public class ProcessWide
{
    private static readonly TaskCompletionSource<int> s_parking = Operations.NewParking();

    [OneTimeSetUp]
    public void StartWork()
    {
        Operations.Drop(Operations.PrecedingAsync);
        _ = Operations.ParkedAsync(s_parking);
    }

    [OneTimeTearDown]
    public void Release() => s_parking.TrySetResult(0);

    [Test]
    public void Leak_in_work_that_suppressed_flow_fails()
    {
        using (ExecutionContext.SuppressFlow())
        {
            Task.Run(() => Operations.Drop(Operations.EscapedAsync)).Wait();
        }
    }

    [Test]
    [DetectTaskLeaks(OnStalled = TaskLeakAction.Fail, PendingTimeoutMilliseconds = 0)]
    public void What_was_there_when_it_began_is_left_out() =>
        Assert.That(TaskLeakDetector.DetectNow().Leaks.Any(l => l.Method.EndsWith(".PrecedingAsync", System.StringComparison.Ordinal)));

    [Test]
    [DetectTaskLeaks(IgnorePendingAtStart = false)]
    public void Without_the_starting_point_everything_counts()
    {
    }
}
