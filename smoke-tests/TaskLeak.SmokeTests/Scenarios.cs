using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace TaskLeak.SmokeTests;

/// <summary>
/// Small programs with a known verdict. Each starter is NoInlining so nothing it allocated is left on the
/// caller's stack (unoptimized JIT keeps locals alive to the end of a method).
/// </summary>
public static class Scenarios
{
    public static int FinallyRuns;
    public static TaskCompletionSource<int>? Held;

    public static async Task AwaitSourceAsync(TaskCompletionSource<int> source)
    {
        try
        {
            await source.Task;
        }
        finally
        {
            Interlocked.Increment(ref FinallyRuns);
        }
    }

    public static async Task<int> OuterAsync(TaskCompletionSource<int> source)
    {
        int value = await MiddleAsync(source);
        return value;
    }

    public static async Task<int> MiddleAsync(TaskCompletionSource<int> source)
    {
        int value = await InnerAsync(source);
        return value + 1;
    }

    public static async Task<int> InnerAsync(TaskCompletionSource<int> source)
    {
        int value = await source.Task;
        return value + 1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartDropped() => _ = AwaitSourceAsync(new TaskCompletionSource<int>());

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartChain() => _ = OuterAsync(new TaskCompletionSource<int>());

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task StartHeldInStatic()
    {
        Held = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        return AwaitSourceAsync(Held);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartHeldInStaticDroppingTask() => _ = StartHeldInStatic();

    /// <summary>Nothing references the source but an object whose finalizer completes it: the frame is revived, not leaked.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartCompletedByFinalizer()
    {
        var source = new TaskCompletionSource<int>();
        _ = new CompletesOnFinalize(source);
        _ = AwaitSourceAsync(source);
    }

    private sealed class CompletesOnFinalize(TaskCompletionSource<int> source)
    {
        ~CompletesOnFinalize() => source.TrySetResult(7);
    }
}
