using System.Threading.Tasks;
using Xunit;

namespace TaskLeak.Xunit.Samples;

/// <summary>TaskLeakAssert inside tests whose attribute checks nothing by itself.</summary>
[DetectTaskLeaks(OnLeak = TaskLeakAction.None)]
public class Explicit
{
    private static readonly TaskCompletionSource<int> s_parking = Operations.NewParking();

    [Fact]
    public void NoLeaks_fails_on_a_leak()
    {
        Operations.Drop(Operations.AssertedAsync);
        TaskLeakAssert.NoLeaks();
    }

    [Fact]
    public async Task NoLeaks_passes_when_the_work_completed()
    {
        var source = new TaskCompletionSource<int>();
        Task work = Operations.InnerScopeAsync(source);
        source.SetResult(1);
        await work;
        TaskLeakAssert.NoLeaks();
    }

    [Fact]
    public void NoPendingOperations_fails_on_a_pending_operation()
    {
        _ = Operations.ParkedAsync(s_parking);
        TaskLeakAssert.NoPendingOperations(new TaskLeakAssertOptions { PendingTimeout = System.TimeSpan.Zero });
    }
}
