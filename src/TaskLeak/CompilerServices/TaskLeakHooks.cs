using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using TaskLeak.Tracking;

namespace TaskLeak.CompilerServices;

/// <summary>
/// The calls the TaskLeak weaver inserts into async state machines. Not for use by hand: the weaver decides
/// which hook a method gets from its builder and state-machine shape, and the hooks rely on that pairing.
/// </summary>
/// <remarks>
/// Every hook is safe to call from any thread and never throws into user code. Synchronous completions never
/// reach the registry: an operation is registered at its first real suspension only. The kill switch
/// (<see cref="TaskLeakOptions.Enabled"/>) is tested before anything is registered, so a disabled hook is a couple of
/// predictable branches; an operation tracked before it was switched off is still moved, released and completes normally. The weaver tests the operation field inline before
/// <see cref="EnterOperation"/> and <see cref="Complete"/> (which still accept 0), and no hook is inlined: a woven
/// MoveNext that never suspends pays two loads and branches, and keeps the size and frame of the original. Each hook is a
/// try/catch around one call to its body (<see cref="OperationTracker"/>), which keeps the body free of exception
/// handling and its locals in registers.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static partial class TaskLeakHooks
{
    /// <summary>Registers a woven module's site table; returns the id of its first row.</summary>
    /// <param name="table">The rows the weaver wrote, one per site.</param>
    /// <param name="count">The number of rows.</param>
    public static int RegisterSites(string table, int count) => SiteRegistry.Register(table, count);

    /// <summary>
    /// Before an await suspends a method whose proof is its state-machine box (Task and Task&lt;T&gt; builders).
    /// Returns a non-zero operation only on the first suspension; the caller then passes it, with the box, to
    /// <see cref="Attach"/> after the builder has scheduled the continuation.
    /// </summary>
    /// <param name="operation">The state machine's operation field.</param>
    /// <param name="site">The await site id.</param>
    /// <param name="awaited">The awaited object when it is a reference type, else null.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Suspend(ref int operation, int site, object? awaited)
    {
        try
        {
            return OperationTracker.Suspend(ref operation, site, awaited, null);
        }
        catch (Exception)
        {
            OperationTracker.CountError();
            return 0;
        }
    }

    /// <summary>Supplies the state-machine box (the builder's Task) for an operation <see cref="Suspend"/> began.</summary>
    /// <param name="operation">The value <see cref="Suspend"/> returned.</param>
    /// <param name="box">The builder's task after the first AwaitUnsafeOnCompleted: the box itself.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Attach(int operation, object? box)
    {
        try
        {
            OperationTracker.Attach(operation, box);
        }
        catch (Exception)
        {
            OperationTracker.CountError();
        }
    }

    /// <summary>Before an await suspends a method whose proof is the frame object itself (class state machines).</summary>
    /// <param name="operation">The state machine's operation field.</param>
    /// <param name="site">The await site id.</param>
    /// <param name="awaited">The awaited object when it is a reference type, else null.</param>
    /// <param name="frame">The state machine instance.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void SuspendFrame(ref int operation, int site, object? awaited, object frame)
    {
        try
        {
            OperationTracker.Suspend(ref operation, site, awaited, frame);
        }
        catch (Exception)
        {
            OperationTracker.CountError();
        }
    }

    /// <summary>
    /// Before an await suspends a struct state machine whose box cannot be reached (ValueTask, pooled, void and
    /// custom builders): the proof is a token that only the frame references.
    /// </summary>
    /// <param name="operation">The state machine's operation field.</param>
    /// <param name="token">The state machine's token field.</param>
    /// <param name="site">The await site id.</param>
    /// <param name="awaited">The awaited object when it is a reference type, else null.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void SuspendWithToken(ref int operation, ref object? token, int site, object? awaited)
    {
        try
        {
            OperationTracker.Suspend(ref operation, site, awaited, operation == 0 && OperationTracker.Enabled ? token ??= new FrameToken() : null);
        }
        catch (Exception)
        {
            OperationTracker.CountError();
        }
    }

    /// <summary>
    /// Before the builder completes the method (result, exception or cancellation), or an async iterator yields:
    /// releases the operation and restores the thread's previous current operation (<see cref="EnterOperation"/>).
    /// </summary>
    /// <param name="operation">The state machine's operation field; reset to 0.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Complete(ref int operation)
    {
        try
        {
            OperationTracker.Complete(ref operation);
        }
        catch (Exception)
        {
            OperationTracker.CountError();
        }
    }

    /// <summary>
    /// At the start of a woven MoveNext whose operation field is not 0 (a resumption of a tracked operation): the
    /// operation becomes the thread's current one (the causal parent of operations that first suspend while it runs)
    /// until the run suspends again or completes, whose hooks restore the previous one.
    /// </summary>
    /// <param name="operation">The state machine's operation field.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void EnterOperation(int operation)
    {
        try
        {
            OperationTracker.Enter(operation);
        }
        catch (Exception)
        {
            OperationTracker.CountError();
        }
    }

    /// <summary>
    /// Before a spawn call (Task.Run, Task.Factory.StartNew, new Task): the work it starts captures the current
    /// ExecutionContext, so operations it suspends record this spawn site as their origin.
    /// Returns the state to hand to <see cref="ExitSpawn"/> right after the call.
    /// </summary>
    /// <param name="site">The spawn site id.</param>
    public static object? EnterSpawn(int site) => OperationTracker.Enabled ? OperationOrigin.EnterSpawn(site) : SpawnNotEntered;

    /// <summary>After the spawn call: restores the caller's origin.</summary>
    /// <param name="previous">What <see cref="EnterSpawn"/> returned.</param>
    public static void ExitSpawn(object? previous)
    {
        if (!ReferenceEquals(previous, SpawnNotEntered))
        {
            OperationOrigin.Restore(previous as OperationOrigin);
        }
    }

    private static readonly object SpawnNotEntered = new();

    private sealed class FrameToken
    {
    }
}
