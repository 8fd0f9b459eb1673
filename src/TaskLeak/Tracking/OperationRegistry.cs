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
/// Slot state is <c>(generation &lt;&lt; 2) | status</c>. The owner of an operation is the only writer while the
/// status is <see cref="Pending"/> or <see cref="Tracked"/>; the sweeper only claims a <see cref="Tracked"/> slot whose
/// proof reads null, and it re-reads the state after reading the proof: a completion frees the slot by moving the
/// state first and clearing the proof second, so "same state before and after, proof null" can only mean the
/// frame was collected while still suspended.
/// </remarks>
internal static class OperationRegistry
{
    internal const int Free = 0;
    internal const int Pending = 1;
    internal const int Tracked = 2;
    internal const int CompletedEarly = 3;
    private const int StatusMask = 3;

    private const int ChunkShift = 12;
    private const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;
    private const int LocalCapacity = 64;
    private const int TransferBatch = LocalCapacity / 2;

    private static readonly object s_lock = new();
    private static Slot[][] s_chunks = new Slot[16][];
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
        Slot[][] chunks = Volatile.Read(ref s_chunks);
        int tracked = 0;
        for (int index = 0; index < count; index++)
        {
            ref Slot slot = ref chunks[index >> ChunkShift][index & ChunkMask];
            int status = Volatile.Read(ref slot.State) & StatusMask;
            if ((status == Tracked || status == Pending) && (scope == 0 || slot.Scope == scope))
            {
                tracked++;
            }
        }

        return tracked;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ref Slot At(int index) => ref Volatile.Read(ref s_chunks)[index >> ChunkShift][index & ChunkMask];

    /// <summary>The calling thread's cache (free slots, recent registrations, sampling countdowns), created on first use.</summary>
    internal static ThreadCache Cache
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_cache ?? CreateCache();
    }

    /// <summary>Takes a free slot for the calling thread's new operation; the slot is <see cref="Pending"/> on return.</summary>
    internal static int Rent(ThreadCache cache) => cache.Count > 0 ? cache.Slots[--cache.Count] : RefillAndTake(cache);

    /// <summary>Publishes a rented slot whose proof target is set: from here on the sweeper may examine it.</summary>
    internal static void Publish(ref Slot slot, int status) =>
        Volatile.Write(ref slot.State, (slot.State & ~StatusMask) | status);

    /// <summary>
    /// The box strategy's second half: the state-machine box exists only after the first AwaitUnsafeOnCompleted,
    /// which may already have resumed and completed the method on another thread.
    /// </summary>
    internal static void Attach(int index, object box)
    {
        ref Slot slot = ref At(index);
        int state = Volatile.Read(ref slot.State);
        if ((state & StatusMask) == Pending)
        {
            slot.Proof.Target = box;
            if (Interlocked.CompareExchange(ref slot.State, (state & ~StatusMask) | Tracked, state) == state)
            {
                RememberRecent(index, box);
                return;
            }

            state = Volatile.Read(ref slot.State);
        }

        if ((state & StatusMask) == CompletedEarly)
        {
            Volatile.Write(ref slot.State, NextGenerationFree(state));
            Recycle(ref slot, index);
        }
    }

    /// <summary>The operation completed (result, exception or cancellation): it is no longer suspended.</summary>
    internal static void Release(int index)
    {
        ref Slot slot = ref At(index);
        while (true)
        {
            int state = Volatile.Read(ref slot.State);
            switch (state & StatusMask)
            {
                case Tracked:
                    if (Interlocked.CompareExchange(ref slot.State, NextGenerationFree(state), state) == state)
                    {
                        Recycle(ref slot, index);
                        return;
                    }

                    break;
                case Pending:
                    if (Interlocked.CompareExchange(ref slot.State, (state & ~StatusMask) | CompletedEarly, state) == state)
                    {
                        return;
                    }

                    break;
                default:
                    return;
            }
        }
    }

    /// <summary>
    /// Claims every tracked slot whose proof reads null. Runs on one thread at a time (the caller holds the sweep lock).
    /// </summary>
    /// <param name="proven">Receives the claimed operations.</param>
    /// <param name="liveBySite">When set, counts the live tracked operations per site (indexed by site id; larger ids are not counted).</param>
    /// <param name="stall">When set, observes every live operation for the stalled tier.</param>
    internal static void Sweep(List<ProvenOperation> proven, int[]? liveBySite = null, StallCheck? stall = null)
    {
        int count = Volatile.Read(ref s_slotCount);
        Slot[][] chunks = Volatile.Read(ref s_chunks);
        int firstClaimed = proven.Count;
        for (int index = 0; index < count; index++)
        {
            ref Slot slot = ref chunks[index >> ChunkShift][index & ChunkMask];
            int state = Volatile.Read(ref slot.State);
            if ((state & StatusMask) != Tracked)
            {
                continue;
            }

            if (slot.Proof.Target is not null)
            {
                int site = slot.Site;
                if (liveBySite is not null && (uint)site < (uint)liveBySite.Length)
                {
                    liveBySite[site]++;
                }

                if (stall is not null && Volatile.Read(ref slot.State) == state)
                {
                    stall.Observe(ref slot, state >> 2);
                }

                continue;
            }

            if (Volatile.Read(ref slot.State) != state ||
                Interlocked.CompareExchange(ref slot.State, NextGenerationFree(state), state) != state)
            {
                continue;
            }

            proven.Add(new ProvenOperation(index, state >> 2, ref slot));
            slot.ClearPayload();
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
        Slot[][] chunks = Volatile.Read(ref s_chunks);
        for (int index = 0; index < count; index++)
        {
            ref Slot slot = ref chunks[index >> ChunkShift][index & ChunkMask];
            int state = Volatile.Read(ref slot.State);
            if ((state & StatusMask) == Tracked && slot.Proof.Target is not null && Volatile.Read(ref slot.State) == state)
            {
                visit(index, state >> 2, ref slot);
            }
        }
    }

    internal static int GenerationOf(ref Slot slot) => Volatile.Read(ref slot.State) >> 2;

    /// <summary>Tracked, or pending its box: an operation that is suspended or running, not free.</summary>
    internal static bool IsLive(ref Slot slot, out int generation)
    {
        int state = Volatile.Read(ref slot.State);
        generation = state >> 2;
        int status = state & StatusMask;
        return status == Tracked || status == Pending;
    }

    internal static bool IsTracked(ref Slot slot, out int generation)
    {
        int state = Volatile.Read(ref slot.State);
        generation = state >> 2;
        return (state & StatusMask) == Tracked;
    }

    /// <summary>
    /// Operations registered most recently on this thread: the candidates a following await may be waiting on.
    /// The proof's type is kept beside each so that a later await compares types before it reads any handle.
    /// </summary>
    internal static void RememberRecent(int index, object proof)
    {
        ThreadCache? cache = t_cache;
        if (cache is not null)
        {
            int next = (cache.RecentNext + 1) & (ThreadCache.RecentLength - 1);
            cache.RecentNext = next;
            cache.Recent[next] = index + 1;
            cache.RecentTypes[next] = proof.GetType();
        }
    }

    internal static ThreadCache? CurrentThreadCache => t_cache;

    private static int NextGenerationFree(int state) => (int)(((uint)state & ~(uint)StatusMask) + (1u << 2)) | Free;

    private static void Recycle(ref Slot slot, int index)
    {
        slot.Proof.Target = null;
        slot.ClearPayload();
        ThreadCache cache = t_cache ?? CreateCache();
        if (cache.Count == LocalCapacity)
        {
            lock (s_lock)
            {
                for (int i = 0; i < TransferBatch; i++)
                {
                    PushGlobal(cache.Slots[--cache.Count]);
                }
            }
        }

        cache.Slots[cache.Count++] = index;
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
        Slot[][] chunks = s_chunks;
        int chunksNeeded = (last + ChunkMask) >> ChunkShift;
        if (chunksNeeded > chunks.Length)
        {
            var larger = new Slot[Math.Max(chunks.Length * 2, chunksNeeded)][];
            Array.Copy(chunks, larger, chunks.Length);
            chunks = larger;
        }

        for (int c = first >> ChunkShift; c < chunksNeeded; c++)
        {
            chunks[c] ??= new Slot[ChunkSize];
        }

        for (int index = first; index < last; index++)
        {
            chunks[index >> ChunkShift][index & ChunkMask].Proof = GCHandle.Alloc(null, GCHandleType.WeakTrackResurrection);
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

    internal delegate void SlotVisitor(int index, int generation, ref Slot slot);

    internal sealed class ThreadCache
    {
        internal const int RecentLength = 4;
        internal readonly Thread Owner;
        internal readonly int[] Slots = new int[LocalCapacity];
        internal int Count;
        internal readonly int[] Recent = new int[RecentLength];
        internal readonly Type?[] RecentTypes = new Type?[RecentLength];
        internal int RecentNext;

        /// <summary>Suspensions left before the next one is tracked (production sampling).</summary>
        internal int SampleCountdown = 1;

        /// <summary>Sampled creation stacks: first suspensions left before the next capture (after each site's first few).</summary>
        internal int StackCountdown = 1;

        internal ThreadCache(Thread owner) => Owner = owner;
    }
}
