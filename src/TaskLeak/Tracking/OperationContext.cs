using System;

namespace TaskLeak.Tracking;

/// <summary>
/// The tracked operation whose MoveNext is running on this thread, if any: the causal parent of operations that
/// first suspend while it runs. Only resumptions of tracked operations set it, so synchronous first runs pay nothing.
/// </summary>
internal static class OperationContext
{
    /// <summary>What <see cref="Enter"/> returns when nothing was entered; never a valid previous value.</summary>
    internal const int NotEntered = -1;

    [ThreadStatic] private static int t_current;

    /// <summary>Slot + 1 of the operation running now on this thread, or 0.</summary>
    internal static int Current => t_current;

    internal static int Enter(int operation)
    {
        int previous = t_current;
        t_current = operation;
        return previous;
    }

    internal static void Exit(int previous) => t_current = previous;

    /// <summary>An operation that completes stops being anyone's parent, even before its MoveNext returns.</summary>
    internal static void ClearIf(int operation)
    {
        if (t_current == operation)
        {
            t_current = 0;
        }
    }
}
