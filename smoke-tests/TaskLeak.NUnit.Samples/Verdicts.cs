using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.NUnit.Samples;

/// <summary>Leaks of every shape the check must catch, and tests that must stay green.</summary>
[Parallelizable(ParallelScope.All)]
public class Verdicts
{
    [Test]
    public async Task Leaks_a_chain()
    {
        await Task.Yield();
        Operations.Drop(Operations.OuterAsync);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Leaks_only_in_one_case(bool leak)
    {
        if (leak)
        {
            Operations.Drop(Operations.CaseAsync);
        }
    }

    [Test]
    public async Task Awaits_everything_it_starts()
    {
        var source = new TaskCompletionSource<int>();
        Task work = Operations.DirectAsync(source);
        await Task.Run(() => source.SetResult(1));
        await work;
    }

    [Test]
    public void Fails_on_its_own_and_leaks()
    {
        Operations.Drop(Operations.FailingAsync);
        Assert.That(1 + 1, Is.EqualTo(3));
    }
}

/// <summary>Ignore lists, by method and by site, from the attribute nearest the test.</summary>
[Parallelizable(ParallelScope.All)]
[DetectTaskLeaks(IgnoredMethods = new[] { "TaskLeak.NUnit.Samples.Operations.IgnoredByMethodAsync" })]
public class Ignores
{
    [Test]
    public void Leak_in_an_ignored_method_passes() => Operations.Drop(Operations.IgnoredByMethodAsync);

    [Test]
    [DetectTaskLeaks(IgnoredSites = new[] { "SiteFilterLeaks.cs" })]
    public void Leak_at_an_ignored_site_passes() => Operations.Drop(SiteFilterLeaks.InThisFileAsync);

    [Test]
    [DetectTaskLeaks(IgnoredMethods = new[] { "TaskLeak.NUnit.Samples.Operations.Outer*" })]
    public void Leak_awaited_by_an_ignored_method_passes() => Operations.Drop(Operations.OuterAsync);

    [Test]
    public void Leak_outside_the_ignore_lists_fails()
    {
        Operations.Drop(Operations.IgnoredByMethodAsync);
        Operations.Drop(Operations.WarnedAsync);
    }
}

/// <summary>Warn instead of fail; opt out; nearest attribute wins property by property.</summary>
[Parallelizable(ParallelScope.All)]
[DetectTaskLeaks(OnLeak = TaskLeakAction.Warn)]
public class Actions
{
    [Test]
    public void Leak_warns() => Operations.Drop(Operations.WarnedAsync);

    [Test]
    [DetectTaskLeaks(OnLeak = TaskLeakAction.None)]
    public void Opted_out_leak_passes() => Operations.Drop(Operations.OptedOutAsync);

    [Test]
    [DetectTaskLeaks(OnLeak = TaskLeakAction.Fail, Collections = 1)]
    public void Nearest_attribute_fails_it() => Operations.Drop(Operations.NearestAsync);
}
