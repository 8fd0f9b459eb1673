using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;

namespace TaskLeak.Tracking;

/// <summary>
/// The hooks' bodies for one registry: fill a slot when an operation suspends, free it when it completes. Never locks
/// on the fast path. Its methods are named as the <see cref="CompilerServices.TaskLeakHooks"/> that call them (which
/// catch whatever escapes: a bug, or an allocation failure on a slow path), so tests drive a detector of their own
/// exactly as woven code drives the default one.
/// </summary>
internal sealed class OperationTracker
{
    /// <summary>What EnterSpawn returns when it entered nothing: ExitSpawn then restores nothing.</summary>
    internal static readonly object SpawnNotEntered = new();
    private int _internalErrors;

    internal OperationTracker(OperationRegistry registry, SiteRegistry sites, TrackingPolicy policy, Clock clock, bool enabled)
    {
        Registry = registry;
        Sites = sites;
        Policy = policy;
        Clock = clock;
        Enabled = enabled;
    }

    internal OperationRegistry Registry { get; }
    internal SiteRegistry Sites { get; }
    internal TrackingPolicy Policy { get; }
    internal Clock Clock { get; }

    /// <summary>The kill switch: when false no operation begins (those already tracked finish).</summary>
    internal volatile bool Enabled;

    /// <summary>Failures inside the tracker itself that were contained instead of reaching user code.</summary>
    internal int InternalErrors => Volatile.Read(ref _internalErrors);

    internal void CountError() => Interlocked.Increment(ref _internalErrors);

    /// <summary>Registers a site table (see <see cref="SiteRegistry.Register"/>); the policy's per-site counts grow with it.</summary>
    internal int RegisterSites(string? table, int count, out string? error)
    {
        int first = Sites.Register(table, count, out error);
        if (error is null)
        {
            Policy.SitesRegistered(Sites.IdLimit);
        }

        return first;
    }

    /// <summary>Box strategy's first half: the operation is pending until <see cref="Attach"/>. Returns it only when it began.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Suspend(ref int operation, int site, object? awaited) => Suspend(ref operation, site, awaited, null);

    /// <summary>Frame strategy: the proof is the frame object itself.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SuspendFrame(ref int operation, int site, object? awaited, object frame) => Suspend(ref operation, site, awaited, frame);

    /// <summary>
    /// Token strategy: the proof is a token only the frame references, allocated when the operation begins, after the
    /// sampling decision: an operation that sampling skips allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void SuspendWithToken(ref int operation, ref object? token, int site, object? awaited)
    {
        int current = operation;
        if (current != 0)
        {
            Resuspend(current, site, awaited);
            return;
        }

        if (!Enabled || site <= 0)
        {
            return;
        }

        OperationRegistry.ThreadCache cache = Registry.Cache;
        if (Policy.ShouldTrack(cache))
        {
            operation = BeginTracked(cache, site, awaited, token ??= new FrameToken());
        }
    }

    /// <summary>
    /// Before an await suspends: the first suspension begins the operation (with its <paramref name="proof"/>, or
    /// pending its box when null), a later one moves it to the new site. Returns the operation only when it began.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int Suspend(ref int operation, int site, object? awaited, object? proof)
    {
        // An operation tracked before the kill switch was thrown stays tracked until it completes, and its
        // resuspension still restores the thread's previous current operation (Enter).
        int current = operation;
        if (current != 0)
        {
            Resuspend(current, site, awaited);
            return 0;
        }

        // A negative site belongs to a module whose site table was refused (SiteRegistry.DisabledBase): never tracked.
        return Enabled && site > 0 ? operation = Begin(site, awaited, proof) : 0;
    }

    /// <summary>
    /// At the start of a MoveNext that resumes <paramref name="operation"/>: it becomes the thread's current operation
    /// (the causal parent of operations that first suspend meanwhile) and the previous one is saved in its slot, to be
    /// restored by the next hook this run reaches: a suspension or the completion. A run that entered its operation
    /// always reaches one of them (it leaves MoveNext only by suspending or completing; exceptions are handed to the
    /// builder), and a run that did not (a first run) found the operation 0 and reaches neither with it non-zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void EnterOperation(int operation)
    {
        OperationRegistry.ThreadCache cache = Registry.Cache;
        ref Slot slot = ref Registry.At(operation - 1);
        slot.SavedContext = cache.Current + 1;
        cache.Current = operation;
    }

    /// <summary>The operation completes: it stops being the thread's current operation and its slot is freed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void Complete(ref int operation)
    {
        int current = operation;
        if (current != 0)
        {
            operation = 0;
            End(current, Registry.CurrentThreadCache);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Attach(int operation, object? box) => Registry.Attach(operation - 1, box);

    /// <summary>Before a spawn call: the work it starts records this spawn site as its origin. Returns what to give <see cref="ExitSpawn"/>.</summary>
    internal object? EnterSpawn(int site) => Enabled && site > 0 ? OperationOrigin.EnterSpawn(site) : SpawnNotEntered;

    /// <summary>After the spawn call: restores the caller's origin.</summary>
    internal static void ExitSpawn(object? previous)
    {
        if (!ReferenceEquals(previous, SpawnNotEntered))
        {
            OperationOrigin.Restore(previous as OperationOrigin);
        }
    }

    /// <summary>
    /// First suspension. With a <paramref name="proof"/> (the frame, or its token) the slot is tracked at once;
    /// without one it stays pending until <see cref="OperationRegistry.Attach"/> supplies the box.
    /// Returns slot + 1, or 0 when the operation is not tracked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Begin(int site, object? awaited, object? proof)
    {
        OperationRegistry.ThreadCache cache = Registry.Cache;
        return Policy.ShouldTrack(cache) ? BeginTracked(cache, site, awaited, proof) : 0;
    }

    /// <summary>
    /// Fills a rented slot and publishes it. Records the causal parent (the operation whose MoveNext runs on this thread),
    /// the spawn origin and, when the awaited object is the proof of the operation this thread registered just before,
    /// that this one awaits it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int BeginTracked(OperationRegistry.ThreadCache cache, int site, object? awaited, object? proof)
    {
        int index = Registry.Rent(cache);
        OperationRegistry.Chunk chunk = Registry.ChunkOf(index);
        int i = index & OperationRegistry.ChunkMask;
        ref Slot slot = ref chunk.Slots[i];
        int self = index + 1;
        chunk.Sites[i] = site;
        slot.FirstSite = site;
        slot.SuspendedAt = Clock.CoarseMilliseconds();
        if (Policy.ShouldCaptureStack(site, cache))
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
    /// the thread's previous current operation is back (<see cref="EnterOperation"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Resuspend(int operation, int site, object? awaited)
    {
        int index = operation - 1;
        OperationRegistry.Chunk chunk = Registry.ChunkOf(index);
        int i = index & OperationRegistry.ChunkMask;
        Debug.Assert((chunk.States[i] & OperationRegistry.StatusMask) is OperationRegistry.Tracked or OperationRegistry.Pending,
            "only the running operation resuspends: tracked, or pending when it resumed before its box was attached");
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

        OperationRegistry.ThreadCache cache = Registry.Cache;
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
    private void End(int operation, OperationRegistry.ThreadCache? cache)
    {
        ref Slot slot = ref Registry.At(operation - 1);
        int saved = slot.SavedContext;
        if (saved != 0)
        {
            slot.SavedContext = 0;
            (cache ??= Registry.Cache).Current = saved - 1;
        }
        else if (cache is not null && cache.Current == operation)
        {
            cache.Current = 0;
        }

        Registry.Release(operation - 1, cache);
    }

    /// <summary>The parent is running on this thread, so its slot is live; its generation makes the link survive slot reuse.</summary>
    private void RecordParent(ref Slot slot, int parent)
    {
        if (Registry.IsLive(parent - 1, out int generation))
        {
            slot.Parent = parent;
            slot.ParentGeneration = generation;
            slot.ParentSite = Registry.SiteOf(parent - 1);
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
    private void Describe(ref Slot slot, OperationRegistry.ThreadCache cache, object? awaited, int self)
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
            int generation = Registry.TrackedGenerationIfProof(candidate - 1, awaited);
            if (generation >= 0)
            {
                slot.Awaits = candidate;
                slot.AwaitsGeneration = generation;
            }
        }
    }

    private sealed class FrameToken
    {
    }
}
