using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.NUnit.Samples;

/// <summary>TaskLeakAssert inside tests whose attribute checks nothing by itself.</summary>
[Parallelizable(ParallelScope.All)]
[DetectTaskLeaks(OnLeak = TaskLeakAction.None)]
public class Explicit
{
    private static readonly TaskCompletionSource<int> s_parking = Operations.NewParking();

    [OneTimeTearDown]
    public void Release() => s_parking.TrySetResult(0);

    [Test]
    public void NoLeaks_fails_on_a_leak()
    {
        Operations.Drop(Operations.AssertedAsync);
        TaskLeakAssert.NoLeaks();
    }

    [Test]
    public async Task NoLeaks_passes_when_the_work_completed()
    {
        var source = new TaskCompletionSource<int>();
        Task work = Operations.AssertedAsync(source);
        source.SetResult(1);
        await work;
        TaskLeakAssert.NoLeaks();
    }

    [Test]
    public void NoLeaks_leaves_out_ignored_methods()
    {
        Operations.Drop(Operations.AssertedAsync);
        TaskLeakAssert.NoLeaks(new TaskLeakAssertOptions { IgnoredMethods = { "TaskLeak.NUnit.Samples.Operations.Asserted*" } });
    }

    [Test]
    public void NoLeaks_can_warn()
    {
        Operations.Drop(Operations.AssertedAsync);
        TaskLeakAssert.NoLeaks(new TaskLeakAssertOptions { Action = TaskLeakAction.Warn });
    }

    [Test]
    public void NoLeaks_passes_with_a_pending_operation()
    {
        _ = Operations.ParkedAsync(s_parking);
        TaskLeakAssert.NoLeaks();
    }

    [Test]
    public void NoPendingOperations_fails_on_a_pending_operation()
    {
        _ = Operations.ParkedAsync(s_parking);
        TaskLeakAssert.NoPendingOperations(new TaskLeakAssertOptions { PendingTimeout = System.TimeSpan.Zero });
    }

    [Test]
    public void NoLeaks_of_an_inner_scope()
    {
        using var inner = TaskLeakScope.Begin("inner");
        Operations.Drop(Operations.InnerScopeAsync);
        inner.Dispose();

        TaskLeakAssert.NoLeaks(); // the test's own scope: the inner scope's leak is not its
        TaskLeakAssert.NoLeaks(inner);
    }

    [Test]
    [DetectTaskLeaks(OnLeak = TaskLeakAction.Fail)]
    public void Leak_warned_by_an_assertion_is_not_failed_again_after_the_test()
    {
        Operations.Drop(Operations.AssertedAsync);
        TaskLeakAssert.NoLeaks(new TaskLeakAssertOptions { Action = TaskLeakAction.Warn });
    }
}
