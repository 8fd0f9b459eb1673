using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace TaskLeak.Benchmarks.Workloads;

/// <summary>
/// The measured async code. This file is compiled twice, into Workloads.Plain (as an application without TaskLeak
/// builds it) and Workloads.Woven (woven by TaskLeak), so the two builds differ only by what the weaver adds.
/// Each public method is one benchmark operation: it starts the async code, drives it to completion synchronously
/// (the drivers are not async, so they are never woven) and returns its result, which callers check.
/// </summary>
public static class Workload
{
    /// <summary>Number of async frames in <see cref="Chain10"/>.</summary>
    public const int ChainDepth = 10;

    /// <summary>Suspensions (and operations) per <see cref="AsyncIterator"/> call.</summary>
    public const int IteratorItems = 3;

    private static readonly Task<int> s_completed = Task.FromResult(1);

    /// <summary>An async method whose await finds its task already complete: it never suspends. Returns 2.</summary>
    public static int SyncCompletion() => CompletesSynchronouslyAsync().GetAwaiter().GetResult();

    /// <summary>One real suspension, resumed inline on this thread. Returns 1.</summary>
    public static int InlineSuspension(Resumer resumer)
    {
        Task<int> task = OneSuspensionAsync(resumer);
        resumer.Resume();
        return task.GetAwaiter().GetResult();
    }

    /// <summary>One suspension on a task (a TaskCompletionSource completed right after the await suspends). Returns 1.</summary>
    public static int TaskSourceSuspension()
    {
        var source = new TaskCompletionSource<int>();
        Task<int> task = AwaitTaskAsync(source.Task);
        source.SetResult(1);
        return task.GetAwaiter().GetResult();
    }

    /// <summary>Three suspensions of one method, each resumed inline. Returns 3.</summary>
    public static int ThreeAwaits(Resumer resumer)
    {
        Task<int> task = ThreeAwaitsAsync(resumer);
        resumer.Resume();
        resumer.Resume();
        resumer.Resume();
        return task.GetAwaiter().GetResult();
    }

    /// <summary><c>await Task.Yield()</c>: the continuation runs on the thread pool; waits for it. Returns 1.</summary>
    public static int TaskYield()
    {
        YieldAsync().GetAwaiter().GetResult();
        return 1;
    }

    /// <summary><c>await Task.Run(...)</c>: a spawn and a suspension on its task; waits for it. Returns 1.</summary>
    public static int TaskRun()
    {
        RunAsync().GetAwaiter().GetResult();
        return 1;
    }

    /// <summary><see cref="ChainDepth"/> async frames awaiting each other, the innermost on the resumer. Returns ChainDepth - 1.</summary>
    public static int Chain10(Resumer resumer)
    {
        Task<int> task = ChainAsync(ChainDepth - 1, resumer);
        resumer.Resume();
        return task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// <see cref="InlineSuspension"/> on every core at once: <paramref name="perWorker"/> operations on each of
    /// <c>resumers.Length</c> workers. Returns the number of operations completed.
    /// </summary>
    public static int ParallelInlineSuspensions(Resumer[] resumers, int perWorker)
    {
        int total = 0;
        Parallel.For(0, resumers.Length, () => 0, (worker, _, sum) =>
        {
            Resumer resumer = resumers[worker];
            for (int i = 0; i < perWorker; i++)
            {
                sum += InlineSuspension(resumer);
            }

            return sum;
        }, sum => System.Threading.Interlocked.Add(ref total, sum));
        return total;
    }

    /// <summary>A <c>ValueTask&lt;int&gt;</c> method with one suspension, resumed inline. Returns 1.</summary>
    public static int ValueTaskSuspension(Resumer resumer)
    {
        ValueTask<int> task = OneSuspensionValueTaskAsync(resumer);
        resumer.Resume();
        return task.GetAwaiter().GetResult();
    }

    /// <summary>An async iterator of <see cref="IteratorItems"/> items, each after one suspension. Returns 0+1+2 = 3.</summary>
    public static int AsyncIterator(Resumer resumer)
    {
        IAsyncEnumerator<int> items = CountAsync(resumer, IteratorItems).GetAsyncEnumerator();
        int sum = 0;
        while (true)
        {
            ValueTask<bool> next = items.MoveNextAsync();
            if (!next.IsCompleted)
            {
                resumer.Resume();
            }

            if (!next.GetAwaiter().GetResult())
            {
                break;
            }

            sum += items.Current;
        }

        items.DisposeAsync().GetAwaiter().GetResult();
        return sum;
    }

    /// <summary>Starts an async method that waits on a completion source nobody keeps: a leak, collectable at the next GC.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartLeak() => _ = AwaitForeverAsync(new TaskCompletionSource<int>());

    /// <summary>Starts an async method on <paramref name="resumer"/> and leaves it suspended; returns its task.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task<int> StartSuspended(Resumer resumer) => OneSuspensionAsync(resumer);

    private static async Task<int> CompletesSynchronouslyAsync()
    {
        int value = await s_completed;
        return value + 1;
    }

    private static async Task<int> OneSuspensionAsync(Resumer resumer)
    {
        await resumer;
        return 1;
    }

    private static async Task<int> AwaitTaskAsync(Task<int> task) => await task;

    private static async Task<int> ThreeAwaitsAsync(Resumer resumer)
    {
        await resumer;
        await resumer;
        await resumer;
        return 3;
    }

    private static async Task YieldAsync() => await Task.Yield();

    private static async Task RunAsync() => await Task.Run(static () => { });

    private static async Task<int> ChainAsync(int depth, Resumer resumer)
    {
        if (depth == 0)
        {
            await resumer;
            return 0;
        }

        return await ChainAsync(depth - 1, resumer) + 1;
    }

    private static async ValueTask<int> OneSuspensionValueTaskAsync(Resumer resumer)
    {
        await resumer;
        return 1;
    }

    private static async IAsyncEnumerable<int> CountAsync(Resumer resumer, int count)
    {
        for (int i = 0; i < count; i++)
        {
            await resumer;
            yield return i;
        }
    }

    private static async Task AwaitForeverAsync(TaskCompletionSource<int> source) => await source.Task;
}
