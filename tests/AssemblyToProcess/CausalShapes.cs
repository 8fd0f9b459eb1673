using System;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using TaskLeak.CompilerServices;

namespace AssemblyToProcess;

/// <summary>
/// Methods that look at the thread's current operation (the causal parent of operations that first suspend while it
/// runs) from inside their own MoveNext, on every way in and out of it.
/// </summary>
public static class CausalShapes
{
    private static readonly Func<int> s_current = (Func<int>)typeof(TaskLeakHooks).Assembly
        .GetType("TaskLeak.Tracking.OperationContext", throwOnError: true)!
        .GetProperty("Current", BindingFlags.NonPublic | BindingFlags.Static)!
        .GetMethod!.CreateDelegate(typeof(Func<int>));

    /// <summary>The operation current on this thread (0 for none), read from the runtime's internal state.</summary>
    public static int Current() => s_current();

    /// <summary>Current before the first await (a first run enters nothing) and after resuming (itself).</summary>
    public static async Task<int[]> ObserveAsync(Task<int> first, Task<int> second)
    {
        int beforeFirstAwait = Current();
        await first;
        int afterResuming = Current();
        await second;
        return new[] { beforeFirstAwait, afterResuming, Current() };
    }

    /// <summary>Resumes <paramref name="inner"/>'s awaiter inline from its own resumed MoveNext: each sees itself, and the outer one sees itself again after.</summary>
    public static async Task<int[]> NestedAsync(Task<int> gate, TaskCompletionSource<int> inner, StrongBox<int> innerSaw)
    {
        Task innerTask = InnerAsync(inner.Task, innerSaw);
        await gate;
        int outer = Current();
        inner.SetResult(0);
        int outerAgain = Current();
        await innerTask;
        return new[] { outer, innerSaw.Value, outerAgain };
    }

    private static async Task InnerAsync(Task<int> gate, StrongBox<int> saw)
    {
        await gate;
        saw.Value = Current();
    }

    public static async Task<int> ThrowsAfterResumingAsync(Task<int> gate)
    {
        await gate;
        throw new InvalidOperationException("expected");
    }

    public static async ValueTask<int> ValueTaskObserveAsync(Task<int> gate)
    {
        await gate;
        return Current();
    }

    /// <summary>Yields what it sees: after resuming from an await (itself), then after a yield (a first run again: nothing).</summary>
    public static async IAsyncEnumerable<int> IteratorObserveAsync(Task<int> gate)
    {
        await gate;
        yield return Current();
        yield return Current();
    }
}
