using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;

namespace TaskLeak.Tracking;

/// <summary>What the hooks do once they know an operation is suspending: fill its slot. Never throws.</summary>
internal static class OperationTracker
{
    /// <summary>The kill switch: when false every hook is one predictable branch.</summary>
    internal static volatile bool Enabled = true;

    private static int s_internalErrors;

    /// <summary>Failures inside the tracker itself that were contained instead of reaching user code.</summary>
    internal static int InternalErrors => Volatile.Read(ref s_internalErrors);

    /// <summary>
    /// First suspension. With a <paramref name="proof"/> (the frame, or its token) the slot is tracked at once;
    /// without one it stays pending until <see cref="OperationRegistry.Attach"/> supplies the box.
    /// Returns slot + 1, or 0 when the operation is not tracked.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int Begin(int site, object? awaited, object? proof)
    {
        try
        {
            if (!TrackingPolicy.ShouldTrack())
            {
                return 0;
            }

            int index = OperationRegistry.Rent(out OperationRegistry.ThreadCache cache);
            ref Slot slot = ref OperationRegistry.At(index);
            slot.Site = site;
            slot.FirstSite = site;
            slot.SuspendedAt = Clock.NowMilliseconds();
            slot.CreationStack = TrackingPolicy.ShouldCaptureStack(site) ? new StackTrace(0, true) : null;
            OperationOrigin.Current(out slot.Origin, out slot.Scope);
            if (awaited is not null)
            {
                slot.TargetType = awaited.GetType();
                LinkAwaited(ref slot, cache, awaited);
            }

            if (proof is null)
            {
                OperationRegistry.Publish(ref slot, OperationRegistry.Pending);
            }
            else
            {
                slot.Proof.Target = proof;
                OperationRegistry.Publish(ref slot, OperationRegistry.Tracked);
                OperationRegistry.RememberRecent(index);
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

    /// <summary>A later suspension of an operation already tracked: only its current site changes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Resuspend(int operation, int site, object? awaited)
    {
        ref Slot slot = ref OperationRegistry.At(operation - 1);
        slot.Site = site;
        slot.Awaits = 0;
        if (awaited is null)
        {
            slot.TargetType = null;
        }
        else
        {
            ResuspendOnObject(ref slot, awaited);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ResuspendOnObject(ref Slot slot, object awaited)
    {
        slot.TargetType = awaited.GetType();
        if (OperationRegistry.CurrentThreadCache is { } cache)
        {
            LinkAwaited(ref slot, cache, awaited);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void End(int operation)
    {
        try
        {
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

    /// <summary>
    /// If the awaited object is the proof of an operation this thread registered just before (the usual
    /// <c>await Child()</c>), remember that this operation waits on it: the report then roots the chain at the child.
    /// </summary>
    private static void LinkAwaited(ref Slot slot, OperationRegistry.ThreadCache cache, object awaited)
    {
        int[] recent = cache.Recent;
        int next = cache.RecentNext;
        for (int i = 0; i < recent.Length; i++)
        {
            int candidate = recent[(next - i) & (recent.Length - 1)];
            if (candidate == 0)
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
