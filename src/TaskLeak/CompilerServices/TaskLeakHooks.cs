using System;
using System.ComponentModel;
using System.Reflection;
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
/// try/catch around one call to its body (<see cref="OperationTracker"/> of the default <see cref="Detector"/>), which
/// keeps the body free of exception handling and its locals in registers. Site registration runs in the woven module's
/// static constructor, where a throw would fail every woven method of the module: it never throws either.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static partial class TaskLeakHooks
{
    // The default detector's tracker, read once: after tier-up the JIT folds this static readonly to a constant.
    private static readonly OperationTracker s_tracker = Detector.Default.Tracker;

    /// <summary>
    /// Registers a woven module's site table; returns the id of its first row. Never throws: a table this runtime cannot
    /// read (an unknown version, a wrong row count) turns tracking off for that module alone and is reported once
    /// (<see cref="TaskLeakDetector.ConfigurationErrors"/>, log event 4, EventSource event 4); the module runs as usual.
    /// </summary>
    /// <param name="table">The rows the weaver wrote, one per site, after a <c>TaskLeakSites:1</c> header record.</param>
    /// <param name="count">The number of rows.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int RegisterSites(string table, int count)
    {
        try
        {
            Assembly caller = Assembly.GetCallingAssembly();
            return Detector.Default.RegisterModule(table, count, () => caller.GetName().Name);
        }
        catch (Exception)
        {
            s_tracker.CountError();
            return SiteRegistry.DisabledBase;
        }
    }

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
            return s_tracker.Suspend(ref operation, site, awaited, null);
        }
        catch (Exception)
        {
            s_tracker.CountError();
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
            s_tracker.Attach(operation, box);
        }
        catch (Exception)
        {
            s_tracker.CountError();
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
            s_tracker.Suspend(ref operation, site, awaited, frame);
        }
        catch (Exception)
        {
            s_tracker.CountError();
        }
    }

    /// <summary>
    /// Before an await suspends a struct state machine whose box cannot be reached (ValueTask, pooled, void and
    /// custom builders): the proof is a token that only the frame references, allocated only for an operation that is
    /// tracked (not for one that sampling or the kill switch skips).
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
            s_tracker.SuspendWithToken(ref operation, ref token, site, awaited);
        }
        catch (Exception)
        {
            s_tracker.CountError();
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
            s_tracker.Complete(ref operation);
        }
        catch (Exception)
        {
            s_tracker.CountError();
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
            s_tracker.EnterOperation(operation);
        }
        catch (Exception)
        {
            s_tracker.CountError();
        }
    }

    /// <summary>
    /// Before a spawn call (Task.Run, Task.Factory.StartNew, new Task): the work it starts captures the current
    /// ExecutionContext, so operations it suspends record this spawn site as their origin.
    /// Returns the state to hand to <see cref="ExitSpawn"/> right after the call.
    /// </summary>
    /// <param name="site">The spawn site id.</param>
    public static object? EnterSpawn(int site)
    {
        try
        {
            return s_tracker.EnterSpawn(site);
        }
        catch (Exception)
        {
            s_tracker.CountError();
            return OperationTracker.SpawnNotEntered;
        }
    }

    /// <summary>After the spawn call: restores the caller's origin.</summary>
    /// <param name="previous">What <see cref="EnterSpawn"/> returned.</param>
    public static void ExitSpawn(object? previous)
    {
        try
        {
            OperationTracker.ExitSpawn(previous);
        }
        catch (Exception)
        {
            s_tracker.CountError();
        }
    }
}
