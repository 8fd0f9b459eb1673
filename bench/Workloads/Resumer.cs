using System;
using System.Runtime.CompilerServices;

namespace TaskLeak.Benchmarks.Workloads;

/// <summary>
/// An awaitable that never completes by itself: awaiting it really suspends the method (the builder boxes the state
/// machine and hands over its continuation), and <see cref="Resume"/> runs that continuation inline on the calling
/// thread. A suspension and a resumption with no scheduler, no thread hop and no allocation of its own.
/// </summary>
/// <remarks>One instance per thread: it holds at most one pending continuation.</remarks>
public sealed class Resumer : ICriticalNotifyCompletion
{
    private Action? _continuation;

    public bool IsCompleted => false;

    public Resumer GetAwaiter() => this;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => _continuation = continuation;

    public void UnsafeOnCompleted(Action continuation) => _continuation = continuation;

    /// <summary>Resumes the method suspended on this awaitable, on this thread, before returning.</summary>
    public void Resume()
    {
        Action continuation = _continuation ?? throw new InvalidOperationException("Nothing is suspended on this Resumer.");
        _continuation = null;
        continuation();
    }
}
