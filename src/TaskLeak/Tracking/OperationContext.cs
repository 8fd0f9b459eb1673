namespace TaskLeak.Tracking;

/// <summary>
/// The tracked operation whose MoveNext is running on this thread, if any: the causal parent of operations that
/// first suspend while it runs. Only resumptions of tracked operations set it, so synchronous first runs pay nothing.
/// It lives in the thread's <see cref="OperationRegistry.ThreadCache"/>, so the hooks read one thread-static.
/// </summary>
internal static class OperationContext
{
    /// <summary>Slot + 1 of the default detector's operation running now on this thread, or 0 (woven test shapes read it by reflection).</summary>
    internal static int Current => OperationRegistry.ThreadStaticCurrent;

    /// <summary>Slot + 1 of the operation of <paramref name="registry"/> running now on this thread, or 0.</summary>
    internal static int Of(OperationRegistry registry) => registry.CurrentThreadCache?.Current ?? 0;
}
