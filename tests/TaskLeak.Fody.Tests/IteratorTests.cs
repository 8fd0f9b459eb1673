using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>
/// Async iterators (always class state machines; the frame is the proof): a yield releases the operation, the next
/// await registers it again; <c>await foreach</c> and <c>await using</c> inside them are awaits like any other.
/// </summary>
[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class IteratorTests(Build build)
{
    private const string File = "IteratorShapes.cs";

    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
    }

    [Test]
    public async Task Opened_gates_yield_every_item_without_registering_until_the_resource_is_disposed()
    {
        int disposed = Disposed();
        var items = new List<int>();
        await foreach (int item in Iterator(Task.FromResult(5), Task.FromResult(6)))
        {
            items.Add(item);
            Assert.That(TaskLeakDetector.PendingCount, Is.Zero, "completed awaits and yields register nothing");
        }

        Assert.That(items, Is.EqualTo(new[] { 1, 5, 7 }));
        Assert.That(Disposed(), Is.EqualTo(disposed + 1), "await using disposed the resource (its DisposeAsync suspends on Task.Yield)");
        AssertNothingPendingOrLeaked();
    }

    [Test]
    public async Task Each_await_registers_and_each_yield_releases()
    {
        var first = new TaskCompletionSource<int>();
        var second = new TaskCompletionSource<int>();
        await using IAsyncEnumerator<int> items = Iterator(first.Task, second.Task).GetAsyncEnumerator();

        Assert.That(await items.MoveNextAsync());
        Assert.That(items.Current, Is.EqualTo(1));
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);

        ValueTask<bool> next = items.MoveNextAsync();
        Assert.That(next.IsCompleted, Is.False);
        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1), "suspended at await first");
        first.SetResult(5);
        Assert.That(await next);
        Assert.That(items.Current, Is.EqualTo(5));
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero, "the yield released it");

        next = items.MoveNextAsync();
        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(2), "the inner iterator's await, and the outer's await foreach on it");
        second.SetResult(6);
        Assert.That(await next);
        Assert.That(items.Current, Is.EqualTo(7));

        Assert.That(await items.MoveNextAsync(), Is.False);
        AssertNothingPendingOrLeaked();
    }

    [Test]
    public async Task A_fault_or_cancellation_at_an_await_ends_the_iteration_and_releases_it()
    {
        var faulted = new TaskCompletionSource<int>();
        await using (IAsyncEnumerator<int> items = Iterator(faulted.Task, Task.FromResult(0)).GetAsyncEnumerator())
        {
            await items.MoveNextAsync();
            ValueTask<bool> next = items.MoveNextAsync();
            faulted.SetException(new InvalidOperationException("expected"));
            Assert.That(async () => await next, Throws.InvalidOperationException);
        }

        var canceled = new TaskCompletionSource<int>();
        await using (IAsyncEnumerator<int> items = Iterator(canceled.Task, Task.FromResult(0)).GetAsyncEnumerator())
        {
            await items.MoveNextAsync();
            ValueTask<bool> next = items.MoveNextAsync();
            canceled.SetCanceled();
            Assert.That(async () => await next, Throws.InstanceOf<OperationCanceledException>());
        }

        using var cancellation = new CancellationTokenSource();
        await using (IAsyncEnumerator<int> items = Enumerator(new TaskCompletionSource<int>().Task, cancellation.Token))
        {
            Assert.That(await items.MoveNextAsync());
            ValueTask<bool> next = items.MoveNextAsync();
            Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1));
            cancellation.Cancel();
            Assert.That(async () => await next, Throws.InstanceOf<OperationCanceledException>());
        }

        AssertNothingPendingOrLeaked();
    }

    [Test]
    public void A_dropped_iterator_suspended_at_an_await_is_a_leak()
    {
        StartIteratorAndDrop();

        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();

        Assert.That(leak.Method, Is.EqualTo("AssemblyToProcess.IteratorShapes.IteratorAsync"));
        Assert.That(leak.AwaitSite, Is.EqualTo(File + ":" + WovenAssemblies.LineOf(File, "await:Iterator")));
        Assert.That(leak.WaitTarget, Is.EqualTo("first (Task<int>)"));
    }

    [Test]
    public void A_dropped_await_foreach_is_one_leak_rooted_at_the_inner_iterator()
    {
        StartForeachAndDrop();

        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();

        Assert.That(leak.Method, Is.EqualTo("AssemblyToProcess.IteratorShapes.InnerAsync"));
        Assert.That(leak.AwaitSite, Is.EqualTo(File + ":" + WovenAssemblies.LineOf(File, "await:InnerIterator")));
        Assert.That(leak.AwaitedBy, Is.EqualTo(new[]
        {
            "AssemblyToProcess.IteratorShapes.IteratorAsync (" + File + ":" + WovenAssemblies.LineOf(File, "await:IteratorForeach") + ")",
        }), "the outer iterator awaits the inner one's MoveNextAsync: the enumerator is the inner frame");
    }

    [Test]
    public void A_dropped_enumerator_is_a_leak()
    {
        StartEnumeratorAndDrop();

        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();

        Assert.That(leak.Method, Is.EqualTo("AssemblyToProcess.IteratorShapes.EnumeratorAsync"));
        Assert.That(leak.AwaitSite, Is.EqualTo(File + ":" + WovenAssemblies.LineOf(File, "await:Enumerator")));
        Assert.That(leak.WaitTarget, Does.StartWith("Task<int>.WaitAsync(\u2026) ("));
    }

    [Test]
    public void The_site_table_describes_await_foreach_and_await_using()
    {
        var sites = WovenAssemblies.Sites(WovenAssemblies.Get(build)).Where(s => s.Method == "AssemblyToProcess.IteratorShapes.IteratorAsync").ToList();

        string At(string marker) => File + ":" + WovenAssemblies.LineOf(File, marker);
        Assert.That(sites.Select(s => s.Target + " at " + s.Location), Is.EquivalentTo(new[]
        {
            "first at " + At("await:Iterator"),
            "IAsyncEnumerator<int>.MoveNextAsync() at " + At("await:IteratorForeach"),
            // The implicit disposals run in hidden code: reported at the statement that acquired what they dispose.
            "IAsyncEnumerator<int>.DisposeAsync() at " + At("await:IteratorForeach"),
            "IteratorShapes.AsyncResource.DisposeAsync() at " + At("await:AwaitUsing"),
        }));
        Assert.That(sites.Select(s => s.Shape).Distinct(), Is.EqualTo(new[] { "async IAsyncEnumerable<int>" }));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartIteratorAndDrop()
    {
        IAsyncEnumerator<int> items = Iterator(new TaskCompletionSource<int>().Task, Task.FromResult(0)).GetAsyncEnumerator();
        Assert.That(items.MoveNextAsync().IsCompleted);
        Assert.That(items.MoveNextAsync().IsCompleted, Is.False);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartForeachAndDrop()
    {
        IAsyncEnumerator<int> items = Iterator(Task.FromResult(5), new TaskCompletionSource<int>().Task).GetAsyncEnumerator();
        Assert.That(items.MoveNextAsync().IsCompleted);
        Assert.That(items.MoveNextAsync().IsCompleted);
        Assert.That(items.MoveNextAsync().IsCompleted, Is.False);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartEnumeratorAndDrop()
    {
        IAsyncEnumerator<int> items = Enumerator(new TaskCompletionSource<int>().Task, new CancellationTokenSource().Token);
        Assert.That(items.MoveNextAsync().IsCompleted);
        Assert.That(items.MoveNextAsync().IsCompleted, Is.False);
    }

    private IAsyncEnumerable<int> Iterator(Task<int> first, Task<int> second) =>
        (IAsyncEnumerable<int>)WovenAssemblies.Call(build, "IteratorShapes", "IteratorAsync", first, second)!;

    private IAsyncEnumerator<int> Enumerator(Task<int> gate, CancellationToken cancellationToken) =>
        (IAsyncEnumerator<int>)WovenAssemblies.Call(build, "IteratorShapes", "EnumeratorAsync", gate, cancellationToken)!;

    private int Disposed() => (int)WovenAssemblies.Type(build, "IteratorShapes").GetField("Disposed")!.GetValue(null)!;

    private static void AssertNothingPendingOrLeaked()
    {
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty);
    }
}
