using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace TaskLeak.MSTest.Samples;

/// <summary>Leaks of every shape the check must catch, and tests that must stay green.</summary>
[TestClass]
public class Verdicts
{
    [TestMethod]
    public async Task Leaks_a_chain()
    {
        await Task.Yield();
        Operations.Drop(Operations.OuterAsync);
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void Leaks_only_in_one_case(bool leak)
    {
        if (leak)
        {
            Operations.Drop(Operations.CaseAsync);
        }
    }

    [TestMethod]
    public async Task Awaits_everything_it_starts()
    {
        var source = new TaskCompletionSource<int>();
        Task work = Operations.DirectAsync(source);
        await Task.Run(() => source.SetResult(1));
        await work;
    }

    [TestMethod]
    public void Fails_on_its_own_and_leaks()
    {
        Operations.Drop(Operations.FailingAsync);
        Assert.Fail("it fails on its own");
    }
}

/// <summary>Ignore lists, by method and by site, from the attribute nearest the test.</summary>
[TestClass]
[DetectTaskLeaks(IgnoredMethods = new[] { "TaskLeak.MSTest.Samples.Operations.IgnoredByMethodAsync" })]
public class Ignores
{
    [TestMethod]
    public void Leak_in_an_ignored_method_passes() => Operations.Drop(Operations.IgnoredByMethodAsync);

    [TestMethod]
    [DetectTaskLeaks(IgnoredSites = new[] { "Operations.cs" })]
    public void Leak_at_an_ignored_site_passes() => Operations.Drop(Operations.OptedOutAsync);

    [TestMethod]
    public void Leak_outside_the_ignore_lists_fails()
    {
        Operations.Drop(Operations.IgnoredByMethodAsync);
        Operations.Drop(Operations.WarnedAsync);
    }
}

/// <summary>Warn instead of fail; opt out; nearest attribute wins property by property.</summary>
[TestClass]
[DetectTaskLeaks(OnLeak = TaskLeakAction.Warn)]
public class Actions
{
    [TestMethod]
    public void Leak_warns() => Operations.Drop(Operations.WarnedAsync);

    [TestMethod]
    [DetectTaskLeaks(OnLeak = TaskLeakAction.None)]
    public void Opted_out_leak_passes() => Operations.Drop(Operations.OptedOutAsync);

    [TestMethod]
    [DetectTaskLeaks(OnLeak = TaskLeakAction.Fail, Collections = 1)]
    public void Nearest_attribute_fails_it() => Operations.Drop(Operations.NearestAsync);
}

/// <summary>The stalled tier: operations the test started that are still suspended, reachable, when it ends.</summary>
[TestClass]
public class Stalled
{
    private static readonly TaskCompletionSource<int> s_parking = Operations.NewParking();

    [ClassCleanup]
    public static void Release() => s_parking.TrySetResult(0);

    [TestMethod]
    [DetectTaskLeaks(OnStalled = TaskLeakAction.Fail, PendingTimeoutMilliseconds = 0)]
    public void Operation_still_suspended_at_the_end_fails() => _ = Operations.ParkedAsync(s_parking);

    [TestMethod]
    public void Operation_still_suspended_passes_when_stalled_is_not_checked() => _ = Operations.ParkedAsync(s_parking);
}

/// <summary>TaskLeakAssert inside tests whose attribute checks nothing by itself.</summary>
[TestClass]
[DetectTaskLeaks(OnLeak = TaskLeakAction.None)]
public class Explicit
{
    private static readonly TaskCompletionSource<int> s_parking = Operations.NewParking();

    [ClassCleanup]
    public static void Release() => s_parking.TrySetResult(0);

    [TestMethod]
    public void NoLeaks_fails_on_a_leak()
    {
        Operations.Drop(Operations.AssertedAsync);
        TaskLeakAssert.NoLeaks();
    }

    [TestMethod]
    public async Task NoLeaks_passes_when_the_work_completed()
    {
        var source = new TaskCompletionSource<int>();
        Task work = Operations.InnerScopeAsync(source);
        source.SetResult(1);
        await work;
        TaskLeakAssert.NoLeaks();
    }

    [TestMethod]
    public void NoPendingOperations_fails_on_a_pending_operation()
    {
        _ = Operations.ParkedAsync(s_parking);
        TaskLeakAssert.NoPendingOperations(new TaskLeakAssertOptions { PendingTimeout = TimeSpan.Zero });
    }
}

/// <summary>Work started before the test ([ClassInitialize], [AssemblyInitialize]) belongs to no test, even when proven during one.</summary>
[TestClass]
public class WorkStartedBeforeTheTest
{
    [ClassInitialize]
    public static void StartWork(TestContext context) => Operations.Drop(Operations.BeforeTestAsync);

    [TestMethod]
    public void Setup_leaks_are_not_blamed_on_the_test()
    {
        TaskLeakReport report = TaskLeakDetector.DetectNow();
        Assert.IsTrue(report.Leaks.Any(l => l.Method.EndsWith(".BeforeTestAsync", StringComparison.Ordinal)), "the ClassInitialize leak is proven");
        Assert.IsTrue(report.Leaks.Any(l => l.Method.EndsWith(".PrecedingAsync", StringComparison.Ordinal)), "the AssemblyInitialize leak is proven");
    }
}
