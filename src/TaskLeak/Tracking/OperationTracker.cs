using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using TaskLeak.Configuration;

namespace TaskLeak.Tracking;

/// <summary>What the hooks do once they know an operation is suspending: fill its slot. Never throws, never locks on the fast path.</summary>
internal static class OperationTracker
{
    /// <summary>The kill switch: when false every hook is one predictable branch. Starts from the startup configuration.</summary>
    internal static volatile bool Enabled = RuntimeSettings.Startup.Enabled;

    private static int s_internalErrors;

    /// <summary>Failures inside the tracker itself that were contained instead of reaching user code.</summary>
    internal static int InternalErrors => Volatile.Read(ref s_internalErrors);

    /// <summary>
    /// First suspension. With a <paramref name="proof"/> (the frame, or its token) the slot is tracked at once;
    /// without one it stays pending until <see cref="OperationRegistry.Attach"/> supplies the box.
    /// Records the causal parent (the operation whose MoveNext runs on this thread), the spawn origin and, when the
    /// awaited object is the proof of an operation this thread registered just before, that this one awaits it.
    /// Returns slot + 1, or 0 when the operation is not tracked.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int Begin(int site, object? awaited, object? proof)
    {
        try
        {
            OperationRegistry.ThreadCache cache = OperationRegistry.Cache;
            if (!TrackingPolicy.ShouldTrack(cache))
            {
                return 0;
            }

            int index = OperationRegistry.Rent(cache);
            ref Slot slot = ref OperationRegistry.At(index);
            long now = Clock.NowMilliseconds();
            slot.Site = site;
            slot.FirstSite = site;
            slot.SuspendedAt = now;
            if (TrackingPolicy.ShouldCaptureStack(site, cache))
            {
                slot.CreationStack = new StackTrace(0, true);
            }

            int parent = OperationContext.Current;
            if (parent > 0 && parent != index + 1)
            {
                RecordParent(ref slot, parent);
            }

            OperationOrigin.Current(out slot.Origin, out slot.Scope);
            if (awaited is not null)
            {
                Type type = awaited.GetType();
                slot.TargetType = type;
                LinkAwaited(ref slot, cache, awaited, type, index + 1);
            }

            if (proof is null)
            {
                OperationRegistry.Publish(ref slot, OperationRegistry.Pending);
            }
            else
            {
                slot.Proof.Target = proof;
                OperationRegistry.Publish(ref slot, OperationRegistry.Tracked);
                OperationRegistry.RememberRecent(index, proof);
            }

            Detection.Sweeper.EnsureStarted();
            return index + 1;
        }
        catch (Exception)
        {
            Interlocked.Increment(ref s_internalErrors);
            return 0;
        }
    }

    /// <summary>A later suspension of an operation already tracked: its current site changes, its resumption count grows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Resuspend(int operation, int site, object? awaited)
    {
        ref Slot slot = ref OperationRegistry.At(operation - 1);
        slot.Site = site;
        slot.Awaits = 0;
        slot.Resumptions++;
        if (awaited is null)
        {
            slot.TargetType = null;
        }
        else
        {
            ResuspendOnObject(ref slot, awaited, operation);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ResuspendOnObject(ref Slot slot, object awaited, int operation)
    {
        Type type = awaited.GetType();
        slot.TargetType = type;
        if (OperationRegistry.CurrentThreadCache is { } cache)
        {
            LinkAwaited(ref slot, cache, awaited, type, operation);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void End(int operation)
    {
        try
        {
            // Continuations that SetResult runs inline must not see a released slot as their causal parent.
            OperationContext.ClearIf(operation);
            OperationRegistry.Release(operation - 1);
        }
        catch (Exception)
        {
            Interlocked.Increment(ref s_internalErrors);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Attach(int operation, object? box)
    {
        try
        {
            if (box is not null)
            {
                OperationRegistry.Attach(operation - 1, box);
            }
            else
            {
                OperationRegistry.Release(operation - 1);
            }
        }
        catch (Exception)
        {
            Interlocked.Increment(ref s_internalErrors);
        }
    }

    /// <summary>The parent is running on this thread, so its slot is live; its generation makes the link survive slot reuse.</summary>
    private static void RecordParent(ref Slot slot, int parent)
    {
        ref Slot parentSlot = ref OperationRegistry.At(parent - 1);
        if (OperationRegistry.IsLive(ref parentSlot, out int generation))
        {
            slot.Parent = parent;
            slot.ParentGeneration = generation;
            slot.ParentSite = parentSlot.Site;
        }
    }

    /// <summary>
    /// If the awaited object is the proof of an operation this thread registered just before (the usual
    /// <c>await Child()</c>), remember that this operation waits on it: the report then roots the chain at the child.
    /// Types are compared first, so awaiting a completion source's task reads no handle at all.
    /// </summary>
    private static void LinkAwaited(ref Slot slot, OperationRegistry.ThreadCache cache, object awaited, Type type, int self)
    {
        int[] recent = cache.Recent;
        Type?[] types = cache.RecentTypes;
        int next = cache.RecentNext;
        for (int i = 0; i < recent.Length; i++)
        {
            int at = (next - i) & (recent.Length - 1);
            if (!ReferenceEquals(types[at], type))
            {
                continue;
            }

            int candidate = recent[at];
            if (candidate == self)
            {
                continue;
            }

            ref Slot child = ref OperationRegistry.At(candidate - 1);
            if (OperationRegistry.IsTracked(ref child, out int generation) && ReferenceEquals(child.Proof.Target, awaited))
            {
                slot.Awaits = candidate;
                slot.AwaitsGeneration = generation;
                return;
            }
        }
    }
}
