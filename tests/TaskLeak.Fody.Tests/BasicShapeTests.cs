using System;
using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class BasicShapeTests(Build build)
{
    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
    }

    [TestCase("StartDroppedTask", "AwaitSourceAsync")]
    [TestCase("StartDroppedTaskOfT", "AwaitSourceOfTAsync")]
    public void A_dropped_completion_source_is_reported_at_its_await(string starter, string method)
    {
        WovenAssemblies.Call(build, "BasicShapes", starter);

        TaskLeakReport report = TaskLeakDetector.DetectNow();

        Assert.That(report.Leaks, Has.Count.EqualTo(1), report.ToString());
        TaskLeakGroup leak = report.Leaks[0];
        Assert.That(leak.Method, Is.EqualTo("AssemblyToProcess.BasicShapes." + method));
        Assert.That(leak.AwaitSite, Does.Match(@"^BasicShapes\.cs:\d+$"));
        Assert.That(leak.WaitTarget, Does.StartWith("TaskCompletionSource<int>.Task"));
        Assert.That(leak.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Completed_operations_are_not_reported()
    {
        var source = new TaskCompletionSource<int>();
        var task = (Task<int>)WovenAssemblies.Call(build, "BasicShapes", "AwaitSourceOfTAsync", source)!;
        source.SetResult(1);
        Assert.That(await task, Is.EqualTo(2));
        int sync = await (Task<int>)WovenAssemblies.Call(build, "BasicShapes", "CompletesSynchronouslyAsync", 21)!;
        Assert.That(sync, Is.EqualTo(42));
        Assert.That(await (Task<int>)WovenAssemblies.Call(build, "BasicShapes", "YieldsAsync")!, Is.EqualTo(42));
        var first = new TaskCompletionSource<int>();
        var second = new TaskCompletionSource<int>();
        var two = (Task<int>)WovenAssemblies.Call(build, "BasicShapes", "TwoAwaitsAsync", first, second)!;
        first.SetResult(1);
        second.SetResult(2);
        Assert.That(await two, Is.EqualTo(3));

        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty);
        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(0));
    }

    [Test]
    public void Faulted_and_cancelled_operations_are_not_reported()
    {
        var throws = new TaskCompletionSource<int>();
        var faulted = (Task<int>)WovenAssemblies.Call(build, "BasicShapes", "ThrowsAfterSuspendingAsync", throws)!;
        throws.SetResult(0);
        Assert.That(() => faulted.GetAwaiter().GetResult(), Throws.InvalidOperationException);

        var cancelled = new TaskCompletionSource<int>();
        var canceledTask = (Task<int>)WovenAssemblies.Call(build, "BasicShapes", "AwaitSourceOfTAsync", cancelled)!;
        cancelled.SetCanceled();
        Assert.That(() => canceledTask.GetAwaiter().GetResult(), Throws.InstanceOf<TaskCanceledException>());

        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty);
    }
}
