using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>
/// The woven causal context (EnterOperation at entry, restored by the next suspension or the completion): a resumed
/// tracked operation is the thread's current operation while its MoveNext runs, and whatever was current before is back
/// on every way out (suspension, completion, fault, yield).
/// </summary>
[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class CausalContextTests(Build build)
{
    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        Assert.That(Current(), Is.Zero);
    }

    [Test]
    public async Task A_resumed_operation_is_current_while_it_runs_and_not_after()
    {
        var first = new TaskCompletionSource<int>();
        var second = new TaskCompletionSource<int>();
        var task = (Task<int[]>)Call("ObserveAsync", first.Task, second.Task);
        Assert.That(Current(), Is.Zero, "a first run that suspends leaves nothing current");

        first.SetResult(0);
        Assert.That(Current(), Is.Zero, "resumed, then suspended again: restored on the way out");
        second.SetResult(0);
        int[] seen = await task;

        Assert.That(seen[0], Is.Zero, "a first run enters nothing");
        Assert.That(seen[1], Is.Positive, "resumed: the operation itself is current");
        Assert.That(seen[2], Is.EqualTo(seen[1]), "the same operation across its awaits");
        Assert.That(Current(), Is.Zero);
    }

    [Test]
    public async Task An_operation_resumed_inline_by_another_restores_the_outer_one()
    {
        var gate = new TaskCompletionSource<int>();
        var inner = new TaskCompletionSource<int>();
        var innerSaw = new StrongBox<int>();
        var task = (Task<int[]>)Call("NestedAsync", gate.Task, inner, innerSaw);

        gate.SetResult(0);
        int[] seen = await task;

        Assert.That(seen[0], Is.Positive);
        Assert.That(seen[1], Is.Positive.And.Not.EqualTo(seen[0]), "the inner operation is current while its own MoveNext runs");
        Assert.That(seen[2], Is.EqualTo(seen[0]), "and the outer one is current again once it returns");
        Assert.That(Current(), Is.Zero);
    }

    [Test]
    public void Continuations_run_inline_by_a_completion_do_not_see_the_completed_operation()
    {
        var gate = new TaskCompletionSource<int>();
        var task = (Task<int>)Call("ThrowsAfterResumingAsync", gate.Task);
        int seenByContinuation = -1;
        _ = task.ContinueWith(_ => seenByContinuation = Current(), TaskContinuationOptions.ExecuteSynchronously);

        gate.SetResult(0);

        Assert.That(task.IsFaulted);
        Assert.That(seenByContinuation, Is.Zero, "restored before the builder completed the task");
        Assert.That(Current(), Is.Zero, "restored on the exception path too");
    }

    [Test]
    public async Task A_value_task_operation_restores_on_completion()
    {
        var gate = new TaskCompletionSource<int>();
        var task = ((ValueTask<int>)Call("ValueTaskObserveAsync", gate.Task)).AsTask();
        gate.SetResult(0);

        Assert.That(await task, Is.Positive);
        Assert.That(Current(), Is.Zero);
    }

    [Test]
    public async Task An_iterator_is_current_after_resuming_and_a_first_run_again_after_a_yield()
    {
        var gate = new TaskCompletionSource<int>();
        await using IAsyncEnumerator<int> items = ((IAsyncEnumerable<int>)Call("IteratorObserveAsync", gate.Task)).GetAsyncEnumerator();
        ValueTask<bool> first = items.MoveNextAsync();
        gate.SetResult(0);

        Assert.That(await first);
        Assert.That(items.Current, Is.Positive, "resumed from a tracked await");
        Assert.That(Current(), Is.Zero, "a yield is a way out");
        Assert.That(await items.MoveNextAsync());
        Assert.That(items.Current, Is.Zero, "the yield released the operation: the next MoveNext is a first run");
        Assert.That(await items.MoveNextAsync(), Is.False);
        Assert.That(Current(), Is.Zero);
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
    }

    private object Call(string method, params object?[] arguments) => WovenAssemblies.Call(build, "CausalShapes", method, arguments)!;

    private int Current() => (int)Call("Current");
}
