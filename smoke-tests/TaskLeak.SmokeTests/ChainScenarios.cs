using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace TaskLeak.SmokeTests;

/// <summary>Chains and reachable-but-stuck operations, woven by the real build. Starters are NoInlining (see <see cref="Scenarios"/>).</summary>
public static class ChainScenarios
{
    public static readonly List<TaskCompletionSource<int>> Held = new();

    /// <summary>The request handler: resumes on the thread pool, then calls into the chain.</summary>
    public static async Task<int> HandleRequestAsync(TaskCompletionSource<int> source, TaskCompletionSource<bool> started)
    {
        await Task.Yield();
        int value = await LoadOrderAsync(source, started);
        return value;
    }

    public static async Task<int> LoadOrderAsync(TaskCompletionSource<int> source, TaskCompletionSource<bool> started)
    {
        int value = await ReadReplyAsync(source, started);
        return value * 2;
    }

    public static async Task<int> ReadReplyAsync(TaskCompletionSource<int> source, TaskCompletionSource<bool> started)
    {
        started.TrySetResult(true);
        int value = await source.Task;
        return value + 1;
    }

    public static async Task WaitForSignalAsync(TaskCompletionSource<int> signal)
    {
        await signal.Task;
    }

    /// <summary>A chain started on a resumption; the completion source its innermost await waits on is dropped.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task StartChainAfterYield()
    {
        var started = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = HandleRequestAsync(new TaskCompletionSource<int>(), started);
        return started.Task;
    }

    /// <summary>Operations waiting on sources kept in a static list: reachable, never completed until the test says so.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartHeld(int count)
    {
        for (int i = 0; i < count; i++)
        {
            var signal = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            Held.Add(signal);
            _ = WaitForSignalAsync(signal);
        }
    }

    public static void ReleaseHeld()
    {
        foreach (TaskCompletionSource<int> signal in Held)
        {
            signal.TrySetResult(0);
        }

        Held.Clear();
    }
}
