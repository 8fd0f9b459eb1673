using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>
/// Every woven path of every shape, in both compilations: synchronous completion, suspension and resumption,
/// exception, cancellation, and the leak of a frame whose gate was dropped.
/// </summary>
[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class ShapePathTests(Build build)
{
    public static IEnumerable<ShapeCase> Shapes => ShapeCatalog.All();

    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero, "a previous test left an operation suspended");
    }

    [TestCaseSource(nameof(Shapes))]
    public async Task An_opened_gate_completes_without_registering(ShapeCase shape)
    {
        Task<int> task = shape.Start(build, Gate.Opened(41));
        if (shape.CompletesSynchronously)
        {
            Assert.That(task.IsCompleted, "nothing to wait for: the method must complete synchronously");
        }

        Assert.That(await task, Is.EqualTo(42));
        AssertNothingPendingOrLeaked();
    }

    [TestCaseSource(nameof(Shapes))]
    public async Task A_suspended_operation_is_tracked_until_it_resumes_and_completes(ShapeCase shape)
    {
        var gate = new Gate();
        Task<int> task = shape.Start(build, gate);

        Assert.That(task.IsCompleted, Is.False);
        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1), "the first suspension registers the operation");
        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty, "a reachable frame is never a leak");

        gate.Open(41);
        Assert.That(await task, Is.EqualTo(42));
        AssertNothingPendingOrLeaked();
    }

    [TestCaseSource(nameof(Shapes))]
    public async Task A_fault_after_suspending_releases_the_operation(ShapeCase shape)
    {
        var gate = new Gate();
        Task<int> task = shape.Start(build, gate);
        gate.Fail(new InvalidOperationException("expected"));

        Exception? thrown = await Assert.CatchAsync(async () => await task);
        Assert.That(task.IsFaulted, thrown?.ToString());
        Assert.That(thrown is InvalidOperationException || thrown?.InnerException is InvalidOperationException, thrown?.ToString());
        AssertNothingPendingOrLeaked();
    }

    [TestCaseSource(nameof(Shapes))]
    public async Task A_cancellation_after_suspending_releases_the_operation(ShapeCase shape)
    {
        var gate = new Gate();
        Task<int> task = shape.Start(build, gate);
        gate.Cancel();

        await Assert.CatchAsync<OperationCanceledException>(async () => await task);
        Assert.That(task.IsCanceled);
        AssertNothingPendingOrLeaked();
    }

    [TestCaseSource(nameof(Shapes))]
    public void A_dropped_gate_is_a_leak_reported_at_its_await(ShapeCase shape)
    {
        string site = shape.File + ":" + WovenAssemblies.LineOf(shape.File, shape.Marker);
        StartAndDrop(shape);

        if (!shape.CompletesSynchronously)
        {
            // The frame reaches the dropped gate on a pool thread; until then the pool's queue roots it.
            SpinWait.SpinUntil(() => TaskLeakDetector.Snapshot().Groups.Any(g => g.AwaitSite == site), TimeSpan.FromSeconds(10));
        }

        // A proof needs the frame unreachable at a collection; another thread's stale stack slot can root it for one
        // (seen once in CI for a synchronous shape), so the test asks again rather than racing that thread.
        TaskLeakReport report = TaskLeakDetector.DetectNow();
        for (int i = 0; i < 10 && report.Leaks.Count == 0; i++)
        {
            Thread.Sleep(10);
            report = TaskLeakDetector.DetectNow();
        }

        Assert.That(report.Leaks, Has.Count.EqualTo(1), report.ToString());
        TaskLeakGroup leak = report.Leaks[0];
        Assert.That(leak.Method, Is.EqualTo(shape.Method));
        Assert.That(leak.AwaitSite, Is.EqualTo(site));
        Assert.That(leak.WaitTarget, Is.EqualTo(shape.WaitTarget));
        Assert.That(leak.Detail, Is.EqualTo(shape.Detail));
        Assert.That(leak.Count, Is.EqualTo(1));
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
    }

    /// <summary>Nothing the starter allocated survives it: the frame is reachable only from the dropped gate.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartAndDrop(ShapeCase shape) => shape.Start(build, new Gate());

    private static void AssertNothingPendingOrLeaked()
    {
        // An async void signals its outcome from its body, before its builder completes: its release may still be on its way.
        SpinWait.SpinUntil(() => TaskLeakDetector.PendingCount == 0, TimeSpan.FromSeconds(10));
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero, "a completed operation must release its slot");
        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty);
    }
}
