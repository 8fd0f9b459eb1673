using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace TaskLeak.SmokeTests.RuntimeAsync;

/// <summary>
/// Runtime-async methods with a known verdict, one per await form the compiler emits: <c>AsyncHelpers.Await</c> of
/// each task type, and <c>AwaitAwaiter</c>/<c>UnsafeAwaitAwaiter</c> for other awaitables. Each await line is
/// tagged <c>// await:Name</c> so the tests can find the line a report must name. Every method takes the completion
/// source it waits on; the starters drop it.
/// </summary>
public static class RuntimeAsyncScenarios
{
    public static int FinallyRuns;
    public static TaskCompletionSource<int>? Held;

    public static async Task AwaitTask(TaskCompletionSource<int> source)
    {
        try
        {
            await (Task)source.Task; // await:AwaitTask
        }
        finally
        {
            Interlocked.Increment(ref FinallyRuns);
        }
    }

    public static async Task<int> AwaitTaskOfT(TaskCompletionSource<int> source) => await source.Task + 1; // await:AwaitTaskOfT

    public static async ValueTask AwaitValueTask(TaskCompletionSource<int> source) => await new ValueTask(source.Task); // await:AwaitValueTask

    public static async ValueTask<int> AwaitValueTaskOfT(TaskCompletionSource<int> source) => await new ValueTask<int>(source.Task) + 1; // await:AwaitValueTaskOfT

    public static async Task AwaitConfigured(TaskCompletionSource<int> source) => await ((Task)source.Task).ConfigureAwait(false); // await:AwaitConfigured

    public static async Task<int> AwaitConfiguredOfT(TaskCompletionSource<int> source) => await source.Task.ConfigureAwait(false) + 1; // await:AwaitConfiguredOfT

    public static async Task AwaitConfiguredValueTask(TaskCompletionSource<int> source) => await new ValueTask(source.Task).ConfigureAwait(false); // await:AwaitConfiguredValueTask

    public static async Task<int> AwaitConfiguredValueTaskOfT(TaskCompletionSource<int> source) => await new ValueTask<int>(source.Task).ConfigureAwait(false); // await:AwaitConfiguredValueTaskOfT

    /// <summary>A custom awaiter implementing ICriticalNotifyCompletion: <c>AsyncHelpers.UnsafeAwaitAwaiter</c>.</summary>
    public static async Task<int> AwaitCriticalAwaiter(TaskCompletionSource<int> source) => await new SourceAwaitable(source); // await:AwaitCriticalAwaiter

    /// <summary>A custom awaiter implementing INotifyCompletion only: <c>AsyncHelpers.AwaitAwaiter</c>.</summary>
    public static async Task<int> AwaitNotifyAwaiter(TaskCompletionSource<int> source) => await new NotifyOnlyAwaitable(source); // await:AwaitNotifyAwaiter

    /// <summary>Three suspensions: the operation is registered at the first and moved to each later await.</summary>
    public static async Task<int> SeveralAwaits(TaskCompletionSource<int> first, TaskCompletionSource<int> second)
    {
        int a = await first.Task; // await:SeveralAwaits.First
        await Task.Yield(); // await:SeveralAwaits.Yield
        int b = await second.Task; // await:SeveralAwaits.Second
        return a + b;
    }

    public static async Task<int> ThrowsAfterSuspending(TaskCompletionSource<int> source)
    {
        await source.Task;
        throw new InvalidOperationException("expected");
    }

    /// <summary>Awaits only completed values, then reports how many operations of its scope the registry holds.</summary>
    public static async Task<int> CompletesSynchronously(TaskLeakScope scope)
    {
        await Task.CompletedTask;
        await new ValueTask();
        int value = await Task.FromResult(1).ConfigureAwait(false);
        await new SourceAwaitable(CompletedSource(value));
        return scope.PendingCount;
    }

    /// <summary>The control for <see cref="CompletesSynchronously"/>: after a real suspension the operation is registered until the method returns.</summary>
    public static async Task<int> ProbesAfterResuming(TaskCompletionSource<int> source, TaskLeakScope scope)
    {
        await source.Task;
        return scope.PendingCount;
    }

    /// <summary><c>await Inner()</c> of a woven runtime-async method: left to the callee, which tracks the suspension.</summary>
    public static async Task<int> OuterDirect(TaskCompletionSource<int> source) => await InnerDirect(source) + 1;

    public static async Task<int> InnerDirect(TaskCompletionSource<int> source) => await source.Task; // await:InnerDirect

    [TaskLeak.DoNotTrack]
    public static async Task OptedOut(TaskCompletionSource<int> source) => await source.Task;

    /// <summary>async void still compiles to a state machine under runtime-async.</summary>
    public static async void AsyncVoid(TaskCompletionSource<int> source) => await source.Task; // await:AsyncVoid

    /// <summary>Async iterators still compile to state machines under runtime-async.</summary>
    public static async IAsyncEnumerable<int> Iterator(TaskCompletionSource<int> source)
    {
        yield return 1;
        yield return await source.Task; // await:Iterator
    }

    public static async Task<int> ConsumeIterator(TaskCompletionSource<int> source)
    {
        int sum = 0;
        await foreach (int item in Iterator(source))
        {
            sum += item;
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartDropped(string method) =>
        _ = typeof(RuntimeAsyncScenarios).GetMethod(method)!.Invoke(null, new object[] { new TaskCompletionSource<int>() });

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartSeveralAwaitsDroppedAtSecond()
    {
        var first = new TaskCompletionSource<int>();
        _ = SeveralAwaits(first, new TaskCompletionSource<int>());
        first.SetResult(1);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartSeveralAwaitsHeldAtSecond()
    {
        var first = new TaskCompletionSource<int>();
        Held = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = SeveralAwaits(first, Held);
        first.SetResult(1);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task StartHeldInStatic()
    {
        Held = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        return AwaitTask(Held);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartHeldInStaticDroppingTask() => _ = StartHeldInStatic();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartSpawned() => _ = Task.Run(async () => await new TaskCompletionSource<int>().Task); // spawn:StartSpawned

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartIteratorDropped() => _ = ConsumeIterator(new TaskCompletionSource<int>());

    private static TaskCompletionSource<int> CompletedSource(int value)
    {
        var source = new TaskCompletionSource<int>();
        source.SetResult(value);
        return source;
    }
}

public readonly struct SourceAwaitable(TaskCompletionSource<int> source)
{
    public SourceAwaiter GetAwaiter() => new(source.Task.GetAwaiter());
}

public readonly struct SourceAwaiter(TaskAwaiter<int> inner) : ICriticalNotifyCompletion
{
    public bool IsCompleted => inner.IsCompleted;

    public int GetResult() => inner.GetResult();

    public void OnCompleted(Action continuation) => inner.OnCompleted(continuation);

    public void UnsafeOnCompleted(Action continuation) => inner.UnsafeOnCompleted(continuation);
}

public readonly struct NotifyOnlyAwaitable(TaskCompletionSource<int> source)
{
    public NotifyOnlyAwaiter GetAwaiter() => new(source.Task.GetAwaiter());
}

public readonly struct NotifyOnlyAwaiter(TaskAwaiter<int> inner) : INotifyCompletion
{
    public bool IsCompleted => inner.IsCompleted;

    public int GetResult() => inner.GetResult();

    public void OnCompleted(Action continuation) => inner.OnCompleted(continuation);
}
