using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.NUnit.Samples;

/// <summary>The stalled tier: operations the test started that are still suspended, reachable, when it ends.</summary>
[Parallelizable(ParallelScope.All)]
public class Stalled
{
    private static readonly TaskCompletionSource<int> s_parking = Operations.NewParking();

    [OneTimeTearDown]
    public void Release() => s_parking.TrySetResult(0);

    [Test]
    [DetectTaskLeaks(OnStalled = TaskLeakAction.Fail, PendingTimeoutMilliseconds = 0)]
    public void Operation_still_suspended_at_the_end_fails() => _ = Operations.ParkedAsync(s_parking);

    [Test]
    public void Operation_still_suspended_passes_when_stalled_is_not_checked() => _ = Operations.ParkedAsync(s_parking);

    [Test]
    [DetectTaskLeaks(OnStalled = TaskLeakAction.Fail, StalledAfterMilliseconds = 600_000)]
    public void Operation_younger_than_the_stalled_age_passes() => _ = Operations.ParkedAsync(s_parking);

    [Test]
    [DetectTaskLeaks(OnStalled = TaskLeakAction.Fail, PendingTimeoutMilliseconds = 60_000)]
    public void Work_finishing_after_the_test_returned_passes()
    {
        var source = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Operations.FinishingAsync(source.Task);
        _ = Task.Run(async () =>
        {
            await Task.Delay(20);
            source.SetResult(1);
        });
    }
}
