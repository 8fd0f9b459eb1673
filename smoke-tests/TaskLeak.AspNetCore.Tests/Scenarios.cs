using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace TaskLeak.AspNetCore.Tests;

/// <summary>Woven programs with a known verdict. Starters are NoInlining so nothing they allocate stays on a caller's stack.</summary>
public static class Scenarios
{
    /// <summary>Reachable forever: what the stuck operations wait on.</summary>
    public static readonly List<TaskCompletionSource<int>> Held = new();

    public static async Task<int> DroppedAsync(TaskCompletionSource<int> source)
    {
        int value = await source.Task;
        return value;
    }

    public static async Task<int> StuckOuterAsync(TaskCompletionSource<int> source)
    {
        int value = await StuckInnerAsync(source);
        return value;
    }

    public static async Task<int> StuckInnerAsync(TaskCompletionSource<int> source)
    {
        int value = await source.Task;
        return value + 1;
    }

    public static async Task<int> GrowingAsync(TaskCompletionSource<int> source)
    {
        int value = await source.Task;
        return value;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartDropped(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _ = DroppedAsync(new TaskCompletionSource<int>());
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartStuck()
    {
        var source = new TaskCompletionSource<int>();
        lock (Held)
        {
            Held.Add(source);
        }

        _ = StuckOuterAsync(source);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartGrowing(int count)
    {
        var source = new TaskCompletionSource<int>();
        lock (Held)
        {
            Held.Add(source);
        }

        for (int i = 0; i < count; i++)
        {
            _ = GrowingAsync(source);
        }
    }

    public static void ReleaseHeld()
    {
        lock (Held)
        {
            foreach (TaskCompletionSource<int> source in Held)
            {
                source.TrySetResult(0);
            }

            Held.Clear();
        }
    }
}
