using System;
using System.Threading.Tasks;

namespace AssemblyToProcess;

/// <summary>async Task and async Task&lt;T&gt;: every path the weaver touches, driven by the tests.</summary>
public class BasicShapes
{
    public static int FinallyRuns;

    /// <summary>Awaits a completion source the caller drops: the frame becomes unreachable.</summary>
    public static void StartDroppedTask() => _ = AwaitSourceAsync(new TaskCompletionSource<int>());

    public static void StartDroppedTaskOfT() => _ = AwaitSourceOfTAsync(new TaskCompletionSource<int>());

    public static async Task AwaitSourceAsync(TaskCompletionSource<int> source)
    {
        try
        {
            await source.Task;
        }
        finally
        {
            FinallyRuns++;
        }
    }

    public static async Task<int> AwaitSourceOfTAsync(TaskCompletionSource<int> source)
    {
        int value = await source.Task;
        return value + 1;
    }

    /// <summary>Completes synchronously: the registry must never see it.</summary>
    public static async Task<int> CompletesSynchronouslyAsync(int value)
    {
        await Task.CompletedTask;
        return value * 2;
    }

    public static async Task<int> ThrowsAfterSuspendingAsync(TaskCompletionSource<int> source)
    {
        await source.Task;
        throw new InvalidOperationException("expected");
    }

    public static async Task<int> TwoAwaitsAsync(TaskCompletionSource<int> first, TaskCompletionSource<int> second)
    {
        int a = await first.Task;
        int b = await second.Task;
        return a + b;
    }

    public static async Task<int> YieldsAsync()
    {
        await Task.Yield();
        return 42;
    }
}
