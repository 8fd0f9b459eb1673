#if NET
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace TaskLeak.CompilerServices;

// Runtime-async methods (MethodImplAttributes.Async, no state machine): the weaver keeps the operation and its
// proof token in two locals of the method itself. The runtime saves live locals into the continuation when the
// method suspends, so the token is reachable exactly while something can still resume the method. The weaver
// duplicates the awaited value and calls a BeforeAwait hook right before the AsyncHelpers.Await call; the
// operation is registered only when the value is not complete yet. The hooks return void on purpose: the JIT
// turns "call <Task-returning method>; call AsyncHelpers.Await" into an async call of that method, which is
// invalid for a method with by-ref parameters (InvalidProgramException on resumption).
public static partial class TaskLeakHooks
{
    /// <summary>Before <c>AsyncHelpers.Await(Task)</c> in a runtime-async method. Not for use by hand.</summary>
    /// <param name="task">The awaited task.</param>
    /// <param name="operation">The method's operation local.</param>
    /// <param name="token">The method's proof-token local.</param>
    /// <param name="site">The await site id.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BeforeAwait(Task task, ref int operation, ref object? token, int site)
    {
        if (task is not null && !task.IsCompleted)
        {
            SuspendWithToken(ref operation, ref token, site, task);
        }
    }

    /// <summary>Before <c>AsyncHelpers.Await(Task&lt;T&gt;)</c> in a runtime-async method. Not for use by hand.</summary>
    /// <typeparam name="T">The task's result type.</typeparam>
    /// <param name="task">The awaited task.</param>
    /// <param name="operation">The method's operation local.</param>
    /// <param name="token">The method's proof-token local.</param>
    /// <param name="site">The await site id.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BeforeAwait<T>(Task<T> task, ref int operation, ref object? token, int site)
    {
        if (task is not null && !task.IsCompleted)
        {
            SuspendWithToken(ref operation, ref token, site, task);
        }
    }

    /// <summary>Before <c>AsyncHelpers.Await(ValueTask)</c> in a runtime-async method. Not for use by hand.</summary>
    /// <param name="task">The awaited value task (reading IsCompleted does not consume it).</param>
    /// <param name="operation">The method's operation local.</param>
    /// <param name="token">The method's proof-token local.</param>
    /// <param name="site">The await site id.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BeforeAwait(ValueTask task, ref int operation, ref object? token, int site)
    {
        if (!task.IsCompleted)
        {
            SuspendWithToken(ref operation, ref token, site, null);
        }
    }

    /// <summary>Before <c>AsyncHelpers.Await(ValueTask&lt;T&gt;)</c> in a runtime-async method. Not for use by hand.</summary>
    /// <typeparam name="T">The value task's result type.</typeparam>
    /// <param name="task">The awaited value task.</param>
    /// <param name="operation">The method's operation local.</param>
    /// <param name="token">The method's proof-token local.</param>
    /// <param name="site">The await site id.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BeforeAwait<T>(ValueTask<T> task, ref int operation, ref object? token, int site)
    {
        if (!task.IsCompleted)
        {
            SuspendWithToken(ref operation, ref token, site, null);
        }
    }

    /// <summary>Before <c>AsyncHelpers.Await(ConfiguredTaskAwaitable)</c> in a runtime-async method. Not for use by hand.</summary>
    /// <param name="awaitable">The awaited <c>task.ConfigureAwait(…)</c>.</param>
    /// <param name="operation">The method's operation local.</param>
    /// <param name="token">The method's proof-token local.</param>
    /// <param name="site">The await site id.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BeforeAwait(ConfiguredTaskAwaitable awaitable, ref int operation, ref object? token, int site)
    {
        if (!awaitable.GetAwaiter().IsCompleted)
        {
            SuspendWithToken(ref operation, ref token, site, null);
        }
    }

    /// <summary>Before <c>AsyncHelpers.Await(ConfiguredTaskAwaitable&lt;T&gt;)</c> in a runtime-async method. Not for use by hand.</summary>
    /// <typeparam name="T">The task's result type.</typeparam>
    /// <param name="awaitable">The awaited <c>task.ConfigureAwait(…)</c>.</param>
    /// <param name="operation">The method's operation local.</param>
    /// <param name="token">The method's proof-token local.</param>
    /// <param name="site">The await site id.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BeforeAwait<T>(ConfiguredTaskAwaitable<T> awaitable, ref int operation, ref object? token, int site)
    {
        if (!awaitable.GetAwaiter().IsCompleted)
        {
            SuspendWithToken(ref operation, ref token, site, null);
        }
    }

    /// <summary>Before <c>AsyncHelpers.Await(ConfiguredValueTaskAwaitable)</c> in a runtime-async method. Not for use by hand.</summary>
    /// <param name="awaitable">The awaited <c>valueTask.ConfigureAwait(…)</c>.</param>
    /// <param name="operation">The method's operation local.</param>
    /// <param name="token">The method's proof-token local.</param>
    /// <param name="site">The await site id.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BeforeAwait(ConfiguredValueTaskAwaitable awaitable, ref int operation, ref object? token, int site)
    {
        if (!awaitable.GetAwaiter().IsCompleted)
        {
            SuspendWithToken(ref operation, ref token, site, null);
        }
    }

    /// <summary>Before <c>AsyncHelpers.Await(ConfiguredValueTaskAwaitable&lt;T&gt;)</c> in a runtime-async method. Not for use by hand.</summary>
    /// <typeparam name="T">The value task's result type.</typeparam>
    /// <param name="awaitable">The awaited <c>valueTask.ConfigureAwait(…)</c>.</param>
    /// <param name="operation">The method's operation local.</param>
    /// <param name="token">The method's proof-token local.</param>
    /// <param name="site">The await site id.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BeforeAwait<T>(ConfiguredValueTaskAwaitable<T> awaitable, ref int operation, ref object? token, int site)
    {
        if (!awaitable.GetAwaiter().IsCompleted)
        {
            SuspendWithToken(ref operation, ref token, site, null);
        }
    }

    /// <summary>
    /// In the finally block the weaver wraps around a runtime-async method's body: releases the operation on every
    /// exit (result, exception, cancellation). Not for use by hand.
    /// </summary>
    /// <param name="operation">The method's operation local; reset to 0.</param>
    /// <param name="token">
    /// The method's proof-token local. Read here so the JIT keeps it live across every await in the body and saves
    /// it into each continuation: the token is the proof, and a dead local would read as a collected frame.
    /// </param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CompleteRuntimeAsync(ref int operation, ref object? token)
    {
        Complete(ref operation);
        System.GC.KeepAlive(token);
    }
}
#endif
