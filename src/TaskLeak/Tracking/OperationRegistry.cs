using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using TaskLeak.Detection;

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
/// A proof handle is set before the store that publishes its state and is never cleared: a stale target is weak
/// (it keeps nothing alive and is nulled when its object dies), and the sweeper reads a handle only in a state that
/// proves it current.
/// </para>
/// </remarks>
internal static class OperationRegistry
{
    internal const int Free = 0;
    internal const int Pending = 1;
    internal const int Tracked = 2;
    private const int StatusMask = 3;

    internal const int ChunkShift = 12;
    internal const int ChunkSize = 1 << ChunkShift;
    internal const int ChunkMask = ChunkSize - 1;
    private const int LocalCapacity = 64;
    private const int TransferBatch = LocalCapacity / 2;

    private static readonly object s_lock = new();

    /// <summary>The proof of an operation whose box could not be read: always alive, so it is never reported.</summary>
    private static readonly object s_untrackable = new();
    private static int s_nextCacheId;
    private static long s_racedAttaches;
    private static Chunk[] s_chunks = new Chunk[16];
    private static int s_slotCount;
    private static int[] s_free = new int[256];
    private static int s_freeCount;
    private static readonly List<ThreadCache> s_caches = new();

    [ThreadStatic] private static ThreadCache? t_cache;

    /// <summary>Number of slots ever created: the high-water mark of concurrently suspended operations.</summary>
    internal static int Capacity => Volatile.Read(ref s_slotCount);

    /// <summary>Counts the operations currently suspended and tracked, optionally of one scope (a scan: not for hot paths).</summary>
    internal static int CountTracked(int scope = 0)
    {
        int count = Volatile.Read(ref s_slotCount);
        Chunk[] chunks = Volatile.Read(ref s_chunks);
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
    internal static Chunk ChunkOf(int index) => Volatile.Read(ref s_chunks)[index >> ChunkShift];

    /// <summary>The payload of a slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ref Slot At(int index) => ref ChunkOf(index).Slots[index & ChunkMask];

    /// <summary>The calling thread's cache (free slots, recent registrations, sampling countdowns), created on first use.</summary>
    internal static ThreadCache Cache
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_cache ?? CreateCache();
    }

    internal static ThreadCache? CurrentThreadCache => t_cache;

    /// <summary>Takes a free slot for the calling thread's new operation; only the caller writes it until it is published.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Rent(ThreadCache cache) => cache.Count > 0 ? cache.Slots[--cache.Count] : RefillAndTake(cache);

    /// <summary>Publishes a rented slot (its proof target set, if any): from here on the sweeper may examine it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Publish(Chunk chunk, int i, int status) =>
        Volatile.Write(ref chunk.States[i], (chunk.States[i] & ~StatusMask) | status);

    /// <summary>
    /// The box strategy's second half, on the thread that began the operation: the state-machine box exists only
    /// after the first AwaitUnsafeOnCompleted, which may already have resumed and completed the method on another thread.
    /// </summary>
    internal static void Attach(int index, object? box)
    {
        Chunk chunk = ChunkOf(index);
        int i = index & ChunkMask;
        int pending = chunk.States[i];
        int tracked = (pending & ~StatusMask) | Tracked;
        chunk.Proofs[i].Target = box ?? s_untrackable;
#if NET
        Volatile.Write(ref chunk.States[i], tracked);
#else
        Interlocked.Exchange(ref chunk.States[i], tracked);
#endif
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
    internal static void Release(int index, ThreadCache? cache = null)
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
        }
    }

    /// <summary>Completions that ran on another thread before the box was attached (the protocol's one race), for tests.</summary>
    internal static long RacedAttaches => Interlocked.Read(ref s_racedAttaches);

    private static void CompleteBeforeAttach(Chunk chunk, int i, int index, int pending, ThreadCache? cache)
    {
        ref Slot slot = ref chunk.Slots[i];
        slot.EarlyState = pending;
        if (cache is not null && slot.Owner == cache.Id)
        {
            // Inside the attaching thread's own AwaitUnsafeOnCompleted: its Attach comes later and sees the field.
            return;
        }

        Interlocked.Increment(ref s_racedAttaches);
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

    private static void FreeIfStill(Chunk chunk, int i, int index, int tracked, ThreadCache? cache)
    {
        int free = NextGenerationFree(tracked);
        if (Interlocked.CompareExchange(ref chunk.States[i], free, tracked) == tracked)
        {
            Recycle(chunk, i, index, free, cache);
        }
    }

    /// <summary>
    /// Claims every tracked slot whose proof reads null. Runs on one thread at a time (the caller holds the sweep lock).
    /// </summary>
    /// <param name="proven">Receives the claimed operations.</param>
    /// <param name="liveBySite">When set, counts the live tracked operations per site (indexed by site id; larger ids are not counted).</param>
    /// <param name="stall">When set, observes every live operation for the stalled tier.</param>
#if NET
    // A long loop run rarely: compiled optimized at once rather than through tier 0 and on-stack replacement.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    internal static void Sweep(List<ProvenOperation> proven, int[]? liveBySite = null, StallCheck? stall = null)
    {
        int count = Volatile.Read(ref s_slotCount);
        Chunk[] chunks = Volatile.Read(ref s_chunks);
        int firstClaimed = proven.Count;
        int[] counts = liveBySite ?? Array.Empty<int>();
        for (int first = 0; first < count; first += ChunkSize)
        {
            Chunk chunk = chunks[first >> ChunkShift];
            int[] states = chunk.States;
            GCHandle[] proofs = chunk.Proofs;
            int[] sites = chunk.Sites;
            int n = Math.Min(ChunkSize, count - first);
            for (int i = 0; i < n; i++)
            {
                int state = Volatile.Read(ref states[i]);
                if ((state & StatusMask) != Tracked)
                {
                    continue;
                }

                if (proofs[i].Target is not null)
                {
                    int site = sites[i];
                    if ((uint)site < (uint)counts.Length)
                    {
                        counts[site]++;
                    }

                    if (stall is not null && Volatile.Read(ref states[i]) == state)
                    {
                        stall.Observe(ref chunk.Slots[i], site, state >> 2);
                    }

                    continue;
                }

                // Null between two equal reads of the state: this generation's frame was collected while suspended.
                if (Volatile.Read(ref states[i]) != state ||
                    Interlocked.CompareExchange(ref states[i], NextGenerationFree(state), state) != state)
                {
                    continue;
                }

                proven.Add(new ProvenOperation(first + i, state >> 2, sites[i], ref chunk.Slots[i]));
                chunk.Slots[i].CreationStack = null;
                chunk.Slots[i].TargetType = null;
            }
        }

        if (proven.Count > firstClaimed)
        {
            lock (s_lock)
            {
                for (int i = firstClaimed; i < proven.Count; i++)
                {
                    PushGlobal(proven[i].Slot);
                }
            }
        }

        ReclaimDeadThreadCaches();
    }

    /// <summary>Visits tracked slots whose frame is still alive (for snapshots and the stalled tier).</summary>
    internal static void VisitLive(SlotVisitor visit)
    {
        int count = Volatile.Read(ref s_slotCount);
        Chunk[] chunks = Volatile.Read(ref s_chunks);
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
    internal static bool IsLive(int index, out int generation)
    {
        int state = Volatile.Read(ref ChunkOf(index).States[index & ChunkMask]);
        generation = state >> 2;
        int status = state & StatusMask;
        return status == Tracked || status == Pending;
    }

    /// <summary>The operation's current await site (racy read, for reports).</summary>
    internal static int SiteOf(int index) => ChunkOf(index).Sites[index & ChunkMask];

    /// <summary>
    /// When <paramref name="index"/> is tracked and its proof is <paramref name="awaited"/>: its generation, else -1.
    /// </summary>
    internal static int TrackedGenerationIfProof(int index, object awaited)
    {
        Chunk chunk = ChunkOf(index);
        int i = index & ChunkMask;
        int state = Volatile.Read(ref chunk.States[i]);
        return (state & StatusMask) == Tracked && ReferenceEquals(chunk.Proofs[i].Target, awaited) ? state >> 2 : -1;
    }

    private static int NextGenerationFree(int state) => (int)(((uint)state & ~(uint)StatusMask) + (1u << 2)) | Free;

    /// <summary>Frees a slot whose operation completed into this thread's cache (the store is redundant after a CompareExchange).</summary>
    private static void Recycle(Chunk chunk, int i, int index, int free, ThreadCache? cache)
    {
        ref Slot slot = ref chunk.Slots[i];
        slot.CreationStack = null;
        slot.TargetType = null;
        Volatile.Write(ref chunk.States[i], free);
        cache ??= t_cache ?? CreateCache();
        if (cache.Count == LocalCapacity)
        {
            TransferToGlobal(cache);
        }

        cache.Slots[cache.Count++] = index;
    }

    private static void TransferToGlobal(ThreadCache cache)
    {
        lock (s_lock)
        {
            for (int i = 0; i < TransferBatch; i++)
            {
                PushGlobal(cache.Slots[--cache.Count]);
            }
        }
    }

    private static ThreadCache CreateCache()
    {
        var cache = new ThreadCache(Thread.CurrentThread);
        lock (s_lock)
        {
            s_caches.Add(cache);
        }

        t_cache = cache;
        return cache;
    }

    private static int RefillAndTake(ThreadCache cache)
    {
        Sweeper.EnsureStarted();
        lock (s_lock)
        {
            if (s_freeCount == 0)
            {
                Grow(TransferBatch);
            }

            int take = Math.Min(TransferBatch, s_freeCount);
            for (int i = 0; i < take; i++)
            {
                cache.Slots[cache.Count++] = s_free[--s_freeCount];
            }
        }

        return cache.Slots[--cache.Count];
    }

    // Called under s_lock.
    private static void Grow(int slots)
    {
        int first = s_slotCount;
        int last = first + slots;
        Chunk[] chunks = s_chunks;
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

        Volatile.Write(ref s_chunks, chunks);
        Volatile.Write(ref s_slotCount, last);
        for (int index = last - 1; index >= first; index--)
        {
            PushGlobal(index);
        }
    }

    // Called under s_lock.
    private static void PushGlobal(int index)
    {
        if (s_freeCount == s_free.Length)
        {
            Array.Resize(ref s_free, s_free.Length * 2);
        }

        s_free[s_freeCount++] = index;
    }

    private static void ReclaimDeadThreadCaches()
    {
        lock (s_lock)
        {
            for (int i = s_caches.Count - 1; i >= 0; i--)
            {
                ThreadCache cache = s_caches[i];
                if (cache.Owner.IsAlive)
                {
                    continue;
                }

                for (int j = 0; j < cache.Count; j++)
                {
                    PushGlobal(cache.Slots[j]);
                }

                cache.Count = 0;
                s_caches.RemoveAt(i);
            }
        }
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
