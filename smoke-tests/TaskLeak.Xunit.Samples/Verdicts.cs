using System.Threading.Tasks;
using Xunit;

namespace TaskLeak.Xunit.Samples;

/// <summary>Leaks of every shape the check must catch, and tests that must stay green.</summary>
public class Verdicts
{
    [Fact]
    public async Task Leaks_a_chain()
    {
        await Task.Yield();
        Operations.Drop(Operations.OuterAsync);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Leaks_only_in_one_case(bool leak)
    {
        if (leak)
        {
            Operations.Drop(Operations.CaseAsync);
        }
    }

    [Fact]
    public async Task Awaits_everything_it_starts()
    {
        var source = new TaskCompletionSource<int>();
        Task work = Operations.DirectAsync(source);
        await Task.Run(() => source.SetResult(1), TestContext.Current.CancellationToken);
        await work;
    }

    [Fact]
    public void Fails_on_its_own_and_leaks()
    {
        Operations.Drop(Operations.FailingAsync);
        Assert.Equal(3, 1 + 1);
    }
}

/// <summary>Ignore lists, by method and by site, from the attribute nearest the test.</summary>
[DetectTaskLeaks(IgnoredMethods = new[] { "TaskLeak.Xunit.Samples.Operations.IgnoredByMethodAsync" })]
public class Ignores
{
    [Fact]
    public void Leak_in_an_ignored_method_passes() => Operations.Drop(Operations.IgnoredByMethodAsync);

    [Fact]
    [DetectTaskLeaks(IgnoredSites = new[] { "Operations.cs" })]
    public void Leak_at_an_ignored_site_passes() => Operations.Drop(Operations.OptedOutAsync);

    [Fact]
    public void Leak_outside_the_ignore_lists_fails()
    {
        Operations.Drop(Operations.IgnoredByMethodAsync);
        Operations.Drop(Operations.WarnedAsync);
    }
}

/// <summary>Warn instead of fail; opt out; nearest attribute wins property by property.</summary>
[DetectTaskLeaks(OnLeak = TaskLeakAction.Warn)]
public class Actions
{
    [Fact]
    public void Leak_warns() => Operations.Drop(Operations.WarnedAsync);

    [Fact]
    [DetectTaskLeaks(OnLeak = TaskLeakAction.None)]
    public void Opted_out_leak_passes() => Operations.Drop(Operations.OptedOutAsync);

    [Fact]
    [DetectTaskLeaks(OnLeak = TaskLeakAction.Fail, Collections = 1)]
    public void Nearest_attribute_fails_it() => Operations.Drop(Operations.NearestAsync);
}

/// <summary>The stalled tier: operations the test started that are still suspended, reachable, when it ends.</summary>
public class Stalled
{
    private static readonly TaskCompletionSource<int> s_parking = Operations.NewParking();

    [Fact]
    [DetectTaskLeaks(OnStalled = TaskLeakAction.Fail, PendingTimeoutMilliseconds = 0)]
    public void Operation_still_suspended_at_the_end_fails() => _ = Operations.ParkedAsync(s_parking);

    [Fact]
    public void Operation_still_suspended_passes_when_stalled_is_not_checked() => _ = Operations.ParkedAsync(s_parking);
}
