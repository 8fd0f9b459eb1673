using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// The proof: a tracked operation whose proof handle (a long weak handle on its box, frame or frame-only token) reads
/// null between two reads of the same slot state was collected while suspended. It can never resume. The claim is a
/// CompareExchange from exactly that state (<see cref="OperationRegistry.TryClaim"/>): an operation that completed or
/// was reused meanwhile has another state and is skipped.
/// </summary>
internal static class ProofSweep
{
    /// <summary>
    /// Claims every tracked slot whose proof reads null. Runs on one thread at a time per registry (the caller holds its
    /// detector's sweep lock).
    /// </summary>
    /// <param name="registry">The registry to sweep.</param>
    /// <param name="proven">Receives the claimed operations.</param>
    /// <param name="liveBySite">When set, counts the live tracked operations per site (indexed by site id; larger ids are not counted).</param>
    /// <param name="stall">When set, observes every live operation for the stalled tier.</param>
    /// <param name="beforeProofRead">Deterministic test seam (DEBUG builds only call it): between a tracked slot's first state read and its proof read.</param>
#if NET
    // A long loop run rarely: compiled optimized at once rather than through tier 0 and on-stack replacement.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    internal static void Run(OperationRegistry registry, List<ProvenOperation> proven, int[]? liveBySite = null, StallCheck? stall = null,
        Action<int>? beforeProofRead = null)
    {
        OperationRegistry.Chunk[] chunks = registry.ReadChunks(out int count);
        List<int>? claimed = null;
        int[] counts = liveBySite ?? Array.Empty<int>();
        for (int first = 0; first < count; first += OperationRegistry.ChunkSize)
        {
            OperationRegistry.Chunk chunk = chunks[first >> OperationRegistry.ChunkShift];
            int[] states = chunk.States;
            System.Runtime.InteropServices.GCHandle[] proofs = chunk.Proofs;
            int[] sites = chunk.Sites;
            int n = Math.Min(OperationRegistry.ChunkSize, count - first);
            for (int i = 0; i < n; i++)
            {
                int state = Volatile.Read(ref states[i]);
                if ((state & OperationRegistry.StatusMask) != OperationRegistry.Tracked)
                {
                    continue;
                }

                Seam(beforeProofRead, first + i);
                if (proofs[i].Target is not null)
                {
                    int site = sites[i];
                    if ((uint)site < (uint)counts.Length)
                    {
                        counts[site]++;
                    }

                    if (stall is not null && Volatile.Read(ref states[i]) == state)
                    {
                        stall.Observe(first + i, ref chunk.Slots[i], site, state >> 2);
                    }

                    continue;
                }

                // Null between two equal reads of the state: this generation's frame was collected while suspended.
                if (Volatile.Read(ref states[i]) != state || !OperationRegistry.TryClaim(chunk, i, state))
                {
                    continue;
                }

                // The claimed slot is free but in no free list until ReturnClaimed: nobody rewrites it while it is copied.
                proven.Add(new ProvenOperation(first + i, state >> 2, sites[i], ref chunk.Slots[i]));
                (claimed ??= new List<int>()).Add(first + i);
            }
        }

        if (claimed is not null)
        {
            registry.ReturnClaimed(claimed);
        }

        registry.ReclaimDeadThreadCaches();
    }

    [Conditional("DEBUG")]
    private static void Seam(Action<int>? seam, int index) => seam?.Invoke(index);
}
