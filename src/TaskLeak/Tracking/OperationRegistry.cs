using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Diagnostics;

namespace TaskLeak.Tracking;

/// <summary>
/// Every suspended operation owns one slot. A slot's proof handle is a long weak handle
/// (<see cref="GCHandleType.WeakTrackResurrection"/>) allocated once and re-targeted for each operation,
/// so tracking allocates nothing per operation and never roots a task, a box or a target.
/// </summary>
/// <remarks>
/// Slots live in chunks of parallel arrays: the state, proof handle and current site that a sweep reads for every
/// slot are 16 contiguous bytes per slot across three arrays, apart from the payload (<see cref="Slot"/>) that only
/// reports read.
/// <para>
/// The protocol, and the invariant that lets every common move be a plain store. A slot's state is
/// <c>(generation &lt;&lt; 2) | status</c>. Between its rent and its release a slot has one writer at a time: the thread
/// that began the operation until it publishes <see cref="Tracked"/>, then the operation itself (only while it runs,
/// so its proof is reachable), or the sweeper (only after reading the proof as null between two reads of the same
/// state, then with a CompareExchange: that operation can never run again). The operation and the sweeper can never
/// both move one generation, so neither the operation's release nor a frame/token publication needs an interlocked
/// instruction. Every release increments the generation, so equal states read twice are one operation. The one real
/// race is the box strategy's: the first continuation may resume and complete the method on another thread while the
/// suspending thread is still attaching the box. That completion then leaves the state alone, records the pending state in
/// <see cref="Slot.EarlyState"/> and issues a process-wide barrier; the attaching thread stores
/// <see cref="Tracked"/> and then reads that field. The barrier guarantees that at least one of them sees the other's
/// store, and whichever sees it frees the slot with a CompareExchange (both may: one wins). The attaching thread thus
/// pays no interlocked instruction, the rare early completion pays the barrier (none when it runs on the attaching
/// thread itself, inside its AwaitUnsafeOnCompleted: program order suffices).
/// The proof itself (which slots leaked) is decided in <c>Detection</c>: this type only offers the claim, a
/// CompareExchange from one exact tracked state, and never calls into detection (it signals its owner through the
/// callback it was given).
/// A proof handle is set before the store that publishes its state and is never cleared: a stale target is weak
/// (it keeps nothing alive and is nulled when its object dies), and the sweeper reads a handle only in a state that
/// proves it current.
/// </para>
/// </remarks>
internal sealed class OperationRegistry
{
    internal const int Free = 0;
    internal const int Pending = 1;
    internal const int Tracked = 2;
    internal const int StatusMask = 3;

    internal const int ChunkShift = 12;
    internal const int ChunkSize = 1 << ChunkShift;
    internal const int ChunkMask = ChunkSize - 1;
    private const int LocalCapacity = 64;
    private const int TransferBatch = LocalCapacity / 2;

    /// <summary>The proof of an operation whose box could not be read: always alive, so it is never reported.</summary>
    private static readonly object s_untrackable = new();
    private static int s_nextCacheId;

    // The default detector's registry keeps its thread caches in a thread-static (one load on the hot path); any
    // other registry (tests, hosts) in a ThreadLocal of its own.
    [ThreadStatic] private static ThreadCache? t_cache;

    private readonly object _lock = new();
    private readonly bool _threadStatic;
    private readonly ThreadLocal<ThreadCache?>? _local;
    private readonly Action? _refilling;
    private long _racedAttaches;
    private Chunk[] _chunks = new Chunk[16];
    private int _slotCount;
    private int[] _free = new int[256];
    private int _freeCount;
    private readonly List<ThreadCache> _caches = new();

    /// <param name="threadStatic">Keep this registry's thread caches in the process's one thread-static (the default detector's only).</param>
    /// <param name="refilling">Called when a thread takes slots from the shared list (its owner starts background work then).</param>
    internal OperationRegistry(bool threadStatic, Action? refilling)
    {
        _threadStatic = threadStatic;
        _refilling = refilling;
        if (!threadStatic)
        {
            _local = new ThreadLocal<ThreadCache?>();
        }
    }

    /// <summary>Deterministic test seams (DEBUG builds only call them): a test blocks inside a step to force a race.</summary>
    internal Action<Seam, int>? Seams;

    internal enum Seam
    {
        /// <summary>Attach, after the Tracked store and before the early-completion check.</summary>
        AttachAfterTrackedStore,

        /// <summary>Attach, before the Tracked store (a completion on another thread now sees Pending).</summary>
        AttachBeforeTrackedStore,
    }

    /// <summary>Number of slots ever created: the high-water mark of concurrently suspended operations.</summary>
    internal int Capacity => Volatile.Read(ref _slotCount);

    /// <summary>A consistent pair for a pass over the registry: the chunks, and how many slots they hold (count read first).</summary>
    internal Chunk[] ReadChunks(out int count)
    {
        // Count before chunks: Grow publishes the chunks before the count, so every slot counted has its chunk.
        count = Volatile.Read(ref _slotCount);
        return Volatile.Read(ref _chunks);
    }

    /// <summary>Counts the operations currently suspended and tracked, optionally of one scope (a scan: not for hot paths).</summary>
    internal int CountTracked(int scope = 0)
    {
        Chunk[] chunks = ReadChunks(out int count);
        int tracked = 0;
        for (int index = 0; index < count; index++)
        {
            Chunk chunk = chunks[index >> ChunkShift];
            int i = index & ChunkMask;
            int status = Volatile.Read(ref chunk.States[i]) & StatusMask;
            if ((status == Tracked || status == Pending) && (scope == 0 || chunk.Slots[i].Scope == scope))
            {
                tracked++;
            }
        }

        return tracked;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Chunk ChunkOf(int index) => Volatile.Read(ref _chunks)[index >> ChunkShift];

    /// <summary>The payload of a slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref Slot At(int index) => ref ChunkOf(index).Slots[index & ChunkMask];

    /// <summary>The calling thread's cache (free slots, recent registrations, sampling countdowns), created on first use.</summary>
    internal ThreadCache Cache
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (_threadStatic ? t_cache : _local!.Value) ?? CreateCache();
    }

    internal ThreadCache? CurrentThreadCache => _threadStatic ? t_cache : _local!.Value;

    /// <summary>The current operation in the thread-static cache (the default detector's registry's).</summary>
    internal static int ThreadStaticCurrent => t_cache?.Current ?? 0;

    /// <summary>Takes a free slot for the calling thread's new operation; only the caller writes it until it is published.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Rent(ThreadCache cache)
    {
        int index = cache.Count > 0 ? cache.Slots[--cache.Count] : RefillAndTake(cache);
        Debug.Assert((ChunkOf(index).States[index & ChunkMask] & StatusMask) == Free, "a rented slot is free");
        return index;
    }

    /// <summary>Publishes a rented slot (its proof target set, if any): from here on the sweeper may examine it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Publish(Chunk chunk, int i, int status)
    {
        Debug.Assert((chunk.States[i] & StatusMask) == Free && status != Free, "only a rented (free) slot is published");

        // Every field of the slot and its proof target are written before this store: a sweep that reads the new state reads them.
        Volatile.Write(ref chunk.States[i], (chunk.States[i] & ~StatusMask) | status);
    }

    /// <summary>
    /// The box strategy's second half, on the thread that began the operation: the state-machine box exists only
    /// after the first AwaitUnsafeOnCompleted, which may already have resumed and completed the method on another thread.
    /// </summary>
    internal void Attach(int index, object? box)
    {
        Chunk chunk = ChunkOf(index);
        int i = index & ChunkMask;
        int pending = chunk.States[i];
        Debug.Assert((pending & StatusMask) == Pending, "Attach follows a Suspend that left the slot pending");
        int tracked = (pending & ~StatusMask) | Tracked;
        chunk.Proofs[i].Target = box ?? s_untrackable;
        RunSeam(Seam.AttachBeforeTrackedStore, index);

        // Proof target before state: a sweep that reads Tracked reads this generation's proof.
#if NET
        Volatile.Write(ref chunk.States[i], tracked);
#else
        Interlocked.Exchange(ref chunk.States[i], tracked);
#endif
        RunSeam(Seam.AttachAfterTrackedStore, index);
        if (chunk.Slots[i].EarlyState == pending)
        {
            FreeIfStill(chunk, i, index, tracked, null);
        }

        // If the method already completed on another thread, nothing else may hold its box: from the Tracked store until
        // the slot is freed above, this reference is what keeps a sweep from reading the proof as null (a false leak).
        GC.KeepAlive(box);
    }

    /// <summary>The operation completed (result, exception or cancellation): it is no longer suspended.</summary>
    /// <param name="index">The slot.</param>
    /// <param name="cache">The calling thread's cache, if it has one already (a freed slot goes there).</param>
    internal void Release(int index, ThreadCache? cache = null)
    {
        Chunk chunk = ChunkOf(index);
        int i = index & ChunkMask;
        int state = Volatile.Read(ref chunk.States[i]);
        switch (state & StatusMask)
        {
            case Tracked:
                // The operation is running (it is completing), so the sweeper cannot claim this generation.
                Recycle(chunk, i, index, NextGenerationFree(state), cache);
                break;
            case Pending:
                CompleteBeforeAttach(chunk, i, index, state, cache);
                break;
            default:
                Debug.Fail("a completing operation's slot is tracked or pending");
                break;
        }
    }

    /// <summary>Completions that ran on another thread before the box was attached (the protocol's one race), for tests.</summary>
    internal long RacedAttaches => Interlocked.Read(ref _racedAttaches);

    private void CompleteBeforeAttach(Chunk chunk, int i, int index, int pending, ThreadCache? cache)
    {
        ref Slot slot = ref chunk.Slots[i];
        slot.EarlyState = pending;
        if (cache is not null && slot.Owner == cache.Id)
        {
            // Inside the attaching thread's own AwaitUnsafeOnCompleted: its Attach comes later and sees the field.
            return;
        }

        Interlocked.Increment(ref _racedAttaches);

        // EarlyState before the state read, and (on the attaching side) Tracked before the EarlyState read: the barrier
        // makes at least one side see the other's store.
#if NET
        Interlocked.MemoryBarrierProcessWide();
#else
        Interlocked.MemoryBarrier();
#endif
        int tracked = (pending & ~StatusMask) | Tracked;
        if (Volatile.Read(ref chunk.States[i]) == tracked)
        {
            FreeIfStill(chunk, i, index, tracked, cache);
        }
    }

    private void FreeIfStill(Chunk chunk, int i, int index, int tracked, ThreadCache? cache)
    {
        int free = NextGenerationFree(tracked);
        if (Interlocked.CompareExchange(ref chunk.States[i], free, tracked) == tracked)
        {
            Recycle(chunk, i, index, free, cache);
        }
    }

    /// <summary>
    /// The sweeper's one write: moves a slot from exactly <paramref name="tracked"/> to the next generation's free state.
    /// True when it won (that operation can never run again: its proof was read null between two reads of this state).
    /// The slot is not reusable until <see cref="ReturnClaimed"/>, so the caller can copy it first.
    /// </summary>
    internal static bool TryClaim(Chunk chunk, int i, int tracked)
    {
        Debug.Assert((tracked & StatusMask) == Tracked, "only a tracked generation is claimed");
        return Interlocked.CompareExchange(ref chunk.States[i], NextGenerationFree(tracked), tracked) == tracked;
    }

    /// <summary>Gives claimed slots back to the shared free list, without their references.</summary>
    internal void ReturnClaimed(List<int> indices)
    {
        if (indices.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            foreach (int index in indices)
            {
                ref Slot slot = ref At(index);
                Debug.Assert((ChunkOf(index).States[index & ChunkMask] & StatusMask) == Free, "a claimed slot is free");
                slot.CreationStack = null;
                slot.TargetType = null;
                PushGlobal(index);
            }
        }
    }

    /// <summary>Visits tracked slots whose frame is still alive (for snapshots and the stalled tier).</summary>
    internal void VisitLive(SlotVisitor visit)
    {
        Chunk[] chunks = ReadChunks(out int count);
        for (int index = 0; index < count; index++)
        {
            Chunk chunk = chunks[index >> ChunkShift];
            int i = index & ChunkMask;
            int state = Volatile.Read(ref chunk.States[i]);
            if ((state & StatusMask) == Tracked && chunk.Proofs[i].Target is not null)
            {
                int site = chunk.Sites[i];
                if (Volatile.Read(ref chunk.States[i]) == state)
                {
                    visit(index, state >> 2, site, ref chunk.Slots[i]);
                }
            }
        }
    }

    /// <summary>Tracked, or pending its box: an operation that is suspended or running, not free.</summary>
    internal bool IsLive(int index, out int generation)
    {
        int state = Volatile.Read(ref ChunkOf(index).States[index & ChunkMask]);
        generation = state >> 2;
        int status = state & StatusMask;
        return status == Tracked || status == Pending;
    }

    /// <summary>The operation's current await site (racy read, for reports).</summary>
    internal int SiteOf(int index) => ChunkOf(index).Sites[index & ChunkMask];

    /// <summary>
    /// When <paramref name="index"/> is tracked and its proof is <paramref name="awaited"/>: its generation, else -1.
    /// </summary>
    internal int TrackedGenerationIfProof(int index, object awaited)
    {
        Chunk chunk = ChunkOf(index);
        int i = index & ChunkMask;
        int state = Volatile.Read(ref chunk.States[i]);
        return (state & StatusMask) == Tracked && ReferenceEquals(chunk.Proofs[i].Target, awaited) ? state >> 2 : -1;
    }

    /// <summary>Gives the slots cached by threads that have exited back to the shared list.</summary>
    internal void ReclaimDeadThreadCaches()
    {
        lock (_lock)
        {
            for (int i = _caches.Count - 1; i >= 0; i--)
            {
                ThreadCache cache = _caches[i];
                if (cache.Owner.IsAlive)
                {
                    continue;
                }

                for (int j = 0; j < cache.Count; j++)
                {
                    PushGlobal(cache.Slots[j]);
                }

                cache.Count = 0;
                _caches.RemoveAt(i);
            }
        }
    }

    /// <summary>Frees every proof handle; only when nothing can use this registry again (a disposed test detector).</summary>
    internal void FreeHandles()
    {
        lock (_lock)
        {
            Chunk[] chunks = ReadChunks(out int count);
            for (int index = 0; index < count; index++)
            {
                chunks[index >> ChunkShift].Proofs[index & ChunkMask].Free();
            }

            Volatile.Write(ref _slotCount, 0);
            _freeCount = 0;
        }

        _local?.Dispose();
    }

    private static int NextGenerationFree(int state) => (int)(((uint)state & ~(uint)StatusMask) + (1u << 2)) | Free;

    [Conditional("DEBUG")]
    private void RunSeam(Seam seam, int index) => Seams?.Invoke(seam, index);

    /// <summary>Frees a slot whose operation completed into this thread's cache (the store is redundant after a CompareExchange).</summary>
    private void Recycle(Chunk chunk, int i, int index, int free, ThreadCache? cache)
    {
        ref Slot slot = ref chunk.Slots[i];
        slot.CreationStack = null;
        slot.TargetType = null;
        Volatile.Write(ref chunk.States[i], free);
        cache ??= Cache;
        if (cache.Count == LocalCapacity)
        {
            TransferToGlobal(cache);
        }

        cache.Slots[cache.Count++] = index;
    }

    private void TransferToGlobal(ThreadCache cache)
    {
        lock (_lock)
        {
            for (int i = 0; i < TransferBatch; i++)
            {
                PushGlobal(cache.Slots[--cache.Count]);
            }
        }
    }

    private ThreadCache CreateCache()
    {
        var cache = new ThreadCache(Thread.CurrentThread);
        lock (_lock)
        {
            _caches.Add(cache);
        }

        if (_threadStatic)
        {
            t_cache = cache;
        }
        else
        {
            _local!.Value = cache;
        }

        return cache;
    }

    private int RefillAndTake(ThreadCache cache)
    {
        _refilling?.Invoke();
        lock (_lock)
        {
            if (_freeCount == 0)
            {
                Grow(TransferBatch);
            }

            int take = Math.Min(TransferBatch, _freeCount);
            for (int i = 0; i < take; i++)
            {
                cache.Slots[cache.Count++] = _free[--_freeCount];
            }
        }

        return cache.Slots[--cache.Count];
    }

    private void Grow(int slots)
    {
        Debug.Assert(Monitor.IsEntered(_lock), "the registry grows under its lock");
        int first = _slotCount;
        int last = first + slots;
        Chunk[] chunks = _chunks;
        int chunksNeeded = (last + ChunkMask) >> ChunkShift;
        if (chunksNeeded > chunks.Length)
        {
            var larger = new Chunk[Math.Max(chunks.Length * 2, chunksNeeded)];
            Array.Copy(chunks, larger, chunks.Length);
            chunks = larger;
        }

        for (int c = first >> ChunkShift; c < chunksNeeded; c++)
        {
            chunks[c] ??= new Chunk();
        }

        for (int index = first; index < last; index++)
        {
            chunks[index >> ChunkShift].Proofs[index & ChunkMask] = GCHandle.Alloc(null, GCHandleType.WeakTrackResurrection);
        }

        // Chunks (with their handles) before the count: a pass that reads the new count finds its chunks (ReadChunks).
        Volatile.Write(ref _chunks, chunks);
        Volatile.Write(ref _slotCount, last);
        for (int index = last - 1; index >= first; index--)
        {
            PushGlobal(index);
        }
    }

    private void PushGlobal(int index)
    {
        Debug.Assert(Monitor.IsEntered(_lock), "the shared free list is written under the registry's lock");
        if (_freeCount == _free.Length)
        {
            Array.Resize(ref _free, _free.Length * 2);
        }

        _free[_freeCount++] = index;
    }

    internal delegate void SlotVisitor(int index, int generation, int site, ref Slot slot);

    /// <summary>
    /// <see cref="ChunkSize"/> slots as parallel arrays: what every sweep streams (states, proofs, sites) apart from
    /// what only reports read (<see cref="Slots"/>).
    /// </summary>
    internal sealed class Chunk
    {
        /// <summary><c>(generation &lt;&lt; 2) | status</c>; see <see cref="OperationRegistry"/>.</summary>
        internal readonly int[] States = new int[ChunkSize];

        /// <summary>Long weak handles on the operations' proofs: the state-machine box, the frame, or a frame-owned token.</summary>
        internal readonly GCHandle[] Proofs = new GCHandle[ChunkSize];

        /// <summary>The await site each operation is suspended at now.</summary>
        internal readonly int[] Sites = new int[ChunkSize];

        internal readonly Slot[] Slots = new Slot[ChunkSize];
    }

    internal sealed class ThreadCache
    {
        internal readonly Thread Owner;

        /// <summary>Unique for the process's lifetime (never reused), so a slot can name the thread that began it.</summary>
        internal readonly int Id = Interlocked.Increment(ref s_nextCacheId);
        internal readonly int[] Slots = new int[LocalCapacity];
        internal int Count;

        /// <summary>Slot + 1 of the operation this thread registered last (the one a following await most likely waits on), or 0.</summary>
        internal int Recent;

        /// <summary>Slot + 1 of the tracked operation whose MoveNext runs on this thread now, or 0 (see <see cref="OperationContext"/>).</summary>
        internal int Current;

        /// <summary>Suspensions left before the next one is tracked (production sampling).</summary>
        internal int SampleCountdown = 1;

        /// <summary>Sampled creation stacks: first suspensions left before the next capture (after each site's first few).</summary>
        internal int StackCountdown = 1;

        internal ThreadCache(Thread owner) => Owner = owner;
    }
}
