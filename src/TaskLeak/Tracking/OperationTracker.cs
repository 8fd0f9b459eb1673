using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using TaskLeak.Configuration;

namespace TaskLeak.Tracking;

/// <summary>
/// The hooks' bodies: fill a slot when an operation suspends, free it when it completes. Never locks on the fast
/// path; the hooks catch whatever escapes (a bug, or an allocation failure on a slow path).
/// </summary>
internal static class OperationTracker
{
    /// <summary>The kill switch: when false no operation begins (those already tracked finish). Starts from the startup configuration.</summary>
    internal static volatile bool Enabled = RuntimeSettings.Startup.Enabled;

    private static int s_internalErrors;

    /// <summary>Failures inside the tracker itself that were contained instead of reaching user code.</summary>
    internal static int InternalErrors => Volatile.Read(ref s_internalErrors);

    internal static void CountError() => Interlocked.Increment(ref s_internalErrors);

    /// <summary>
    /// Before an await suspends: the first suspension begins the operation (with its <paramref name="proof"/>, or
    /// pending its box when null), a later one moves it to the new site. Returns the operation only when it began.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int Suspend(ref int operation, int site, object? awaited, object? proof)
    {
        // An operation tracked before the kill switch was thrown stays tracked until it completes, and its
        // resuspension still restores the thread's previous current operation (Enter).
        int current = operation;
        if (current != 0)
        {
            Resuspend(current, site, awaited);
            return 0;
        }

        return Enabled ? operation = Begin(site, awaited, proof) : 0;
    }

    /// <summary>
    /// At the start of a MoveNext that resumes <paramref name="operation"/>: it becomes the thread's current operation
    /// (the causal parent of operations that first suspend meanwhile) and the previous one is saved in its slot, to be
    /// restored by the next hook this run reaches: a suspension or the completion. A run that entered its operation
    /// always reaches one of them (it leaves MoveNext only by suspending or completing; exceptions are handed to the
    /// builder), and a run that did not (a first run) found the operation 0 and reaches neither with it non-zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Enter(int operation)
    {
        OperationRegistry.ThreadCache cache = OperationRegistry.Cache;
        ref Slot slot = ref OperationRegistry.At(operation - 1);
        slot.SavedContext = cache.Current + 1;
        cache.Current = operation;
    }

    /// <summary>The operation completes: it stops being the thread's current operation and its slot is freed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Complete(ref int operation)
    {
        int current = operation;
        if (current != 0)
        {
            operation = 0;
            End(current, OperationRegistry.CurrentThreadCache);
        }
    }

    /// <summary>
    /// First suspension. With a <paramref name="proof"/> (the frame, or its token) the slot is tracked at once;
    /// without one it stays pending until <see cref="OperationRegistry.Attach"/> supplies the box.
    /// Records the causal parent (the operation whose MoveNext runs on this thread), the spawn origin and, when the
    /// awaited object is the proof of the operation this thread registered just before, that this one awaits it.
    /// Returns slot + 1, or 0 when the operation is not tracked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Begin(int site, object? awaited, object? proof)
    {
        OperationRegistry.ThreadCache cache = OperationRegistry.Cache;
        if (!TrackingPolicy.ShouldTrack(cache))
        {
            return 0;
        }

        int index = OperationRegistry.Rent(cache);
        OperationRegistry.Chunk chunk = OperationRegistry.ChunkOf(index);
        int i = index & OperationRegistry.ChunkMask;
        ref Slot slot = ref chunk.Slots[i];
        int self = index + 1;
        chunk.Sites[i] = site;
        slot.FirstSite = site;
        slot.SuspendedAt = Clock.CoarseMilliseconds();
        if (TrackingPolicy.ShouldCaptureStack(site, cache))
        {
            // A free slot holds no stack (its release cleared it), so only a capture is written.
            slot.CreationStack = new StackTrace(0, true);
        }

        slot.Resumptions = 0;
        slot.SavedContext = 0;
        slot.Owner = cache.Id;
        int parent = cache.Current;
        if (parent > 0 && parent != self)
        {
            RecordParent(ref slot, parent);
        }
        else
        {
            slot.Parent = 0;
        }

        OperationOrigin.Current(out slot.Origin, out slot.Scope);
        Describe(ref slot, cache, awaited, self);
        cache.Recent = self;
        if (proof is null)
        {
            OperationRegistry.Publish(chunk, i, OperationRegistry.Pending);
        }
        else
        {
            chunk.Proofs[i].Target = proof;
            OperationRegistry.Publish(chunk, i, OperationRegistry.Tracked);
        }

        return self;
    }

    /// <summary>
    /// A later suspension of an operation already tracked: its current site changes, its resumption count grows, and
    /// the thread's previous current operation is back (<see cref="Enter"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Resuspend(int operation, int site, object? awaited)
    {
        int index = operation - 1;
        OperationRegistry.Chunk chunk = OperationRegistry.ChunkOf(index);
        int i = index & OperationRegistry.ChunkMask;
        ref Slot slot = ref chunk.Slots[i];
        chunk.Sites[i] = site;
        slot.Resumptions++;
        int saved = slot.SavedContext;
        if (awaited is null && saved == 0)
        {
            slot.TargetType = null;
            slot.Awaits = 0;
            return;
        }

        OperationRegistry.ThreadCache cache = OperationRegistry.Cache;
        if (saved != 0)
        {
            slot.SavedContext = 0;
            cache.Current = saved - 1;
        }

        Describe(ref slot, cache, awaited, operation);
    }

    /// <summary>
    /// The operation completed: the thread's previous current operation is back (when a MoveNext entered it), or at
    /// least this one stops being current, so that continuations SetResult runs inline do not see a released slot as
    /// their parent; then its slot is freed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void End(int operation, OperationRegistry.ThreadCache? cache)
    {
        ref Slot slot = ref OperationRegistry.At(operation - 1);
        int saved = slot.SavedContext;
        if (saved != 0)
        {
            slot.SavedContext = 0;
            (cache ??= OperationRegistry.Cache).Current = saved - 1;
        }
        else if (cache is not null && cache.Current == operation)
        {
            cache.Current = 0;
        }

        OperationRegistry.Release(operation - 1, cache);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Attach(int operation, object? box) => OperationRegistry.Attach(operation - 1, box);

    /// <summary>The parent is running on this thread, so its slot is live; its generation makes the link survive slot reuse.</summary>
    private static void RecordParent(ref Slot slot, int parent)
    {
        if (OperationRegistry.IsLive(parent - 1, out int generation))
        {
            slot.Parent = parent;
            slot.ParentGeneration = generation;
            slot.ParentSite = OperationRegistry.SiteOf(parent - 1);
        }
        else
        {
            slot.Parent = 0;
        }
    }

    /// <summary>
    /// The awaited object's type and, if it is the proof of the operation this thread registered last (the usual
    /// <c>await Child()</c>: the child's first suspension comes right before the caller's await), that this operation
    /// waits on it: the report then roots the chain at the child. One state and one handle read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Describe(ref Slot slot, OperationRegistry.ThreadCache cache, object? awaited, int self)
    {
        slot.Awaits = 0;
        if (awaited is null)
        {
            slot.TargetType = null;
            return;
        }

        slot.TargetType = awaited.GetType();
        int candidate = cache.Recent;
        if (candidate != 0 && candidate != self)
        {
            int generation = OperationRegistry.TrackedGenerationIfProof(candidate - 1, awaited);
            if (generation >= 0)
            {
                slot.Awaits = candidate;
                slot.AwaitsGeneration = generation;
            }
        }
    }
}
