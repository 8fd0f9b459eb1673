using System;
using System.Runtime.CompilerServices;
using System.Threading;
using NUnit.Framework;
using TaskLeak.Tracking;

namespace TaskLeak.Tests;

/// <summary>
/// The protocol's races, forced one interleaving at a time: a seam (called in DEBUG builds only) blocks the attaching
/// thread or the sweep at the exact step, and the test runs the other side there.
/// </summary>
public class SoundnessSeamTests : DetectorTest
{
    private int? _site;

    private int Site => _site ??= TestSites.Register(D, "Seam", 1);

    [SetUp]
    public void RequireSeams()
    {
#if !DEBUG
        Assert.Ignore("The seams are compiled into DEBUG builds of the runtime only.");
#endif
    }

    /// <summary>
    /// 5bcedf6: the method completes on another thread before Attach, so nothing but Attach's own argument holds the box;
    /// a sweep between the Tracked store and the early-completion check must still read the proof as alive.
    /// </summary>
    [Test]
    public void A_sweep_between_Attachs_Tracked_store_and_its_early_completion_check_proves_nothing()
    {
        int site = Site;
        int operation = 0;
        TaskLeakReport? during = null;
        long raced = D.Registry.RacedAttaches;
        D.Registry.Seams = (seam, _) =>
        {
            if (seam == OperationRegistry.Seam.AttachBeforeTrackedStore)
            {
                // The first continuation resumed and completed the method on another thread: it finds the slot pending.
                int completing = operation;
                var other = new Thread(() => H.Complete(ref completing));
                other.Start();
                other.Join();
            }
            else if (seam == OperationRegistry.Seam.AttachAfterTrackedStore)
            {
                during = D.DetectNow();
            }
        };

        AttachDroppedBox(site, ref operation);
        D.Registry.Seams = null;

        Assert.That(during, Is.Not.Null, "the sweep ran inside the window");
        Assert.That(during!.IsEmpty, "a completed method is never a leak: " + during);
        Assert.That(D.Registry.RacedAttaches - raced, Is.EqualTo(1), "the completion ran first, on the other thread");
        Assert.That(D.PendingCount, Is.Zero, "Attach freed the slot after its check");
        Assert.That(D.DetectNow().IsEmpty);
    }

    /// <summary>The other order: the completion runs after the Tracked store and frees the slot; Attach's own check then loses its CompareExchange.</summary>
    [Test]
    public void A_completion_between_Attachs_Tracked_store_and_its_check_frees_the_slot_once()
    {
        int site = Site;
        int operation = 0;
        D.Registry.Seams = (seam, _) =>
        {
            if (seam == OperationRegistry.Seam.AttachAfterTrackedStore)
            {
                int completing = operation;
                var other = new Thread(() => H.Complete(ref completing));
                other.Start();
                other.Join();
                Assert.That(D.PendingCount, Is.Zero, "the completing thread saw Tracked after its barrier and freed the slot");
            }
        };

        AttachDroppedBox(site, ref operation);
        D.Registry.Seams = null;

        Assert.That(D.PendingCount, Is.Zero);
        Assert.That(D.DetectNow().IsEmpty);

        // Freed once: the slot is handed out once, so two live operations never share it.
        var frames = new object[200];
        var operations = new int[frames.Length];
        for (int i = 0; i < frames.Length; i++)
        {
            frames[i] = new object();
            H.SuspendFrame(ref operations[i], site, null, frames[i]);
        }

        Assert.That(operations, Is.Unique);
        Assert.That(D.PendingCount, Is.EqualTo(frames.Length));
        GC.KeepAlive(frames);
    }

    /// <summary>
    /// The proof reads the state twice: an operation that completes (and whose frame dies) between the sweep's first state
    /// read and its proof read must not be claimed.
    /// </summary>
    [Test]
    public void An_operation_completing_between_the_sweeps_state_read_and_proof_read_is_not_proven()
    {
        int site = Site;
        var holder = new object?[1];
        int operation = SuspendHeld(site, holder);
        int seen = 0;
        D.BeforeProofRead = index =>
        {
            if (index == operation - 1 && Interlocked.Exchange(ref seen, 1) == 0)
            {
                H.Complete(ref operation);
                holder[0] = null;
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
            }
        };

        D.SweepNow();
        D.BeforeProofRead = null;

        Assert.That(seen, Is.EqualTo(1), "the seam ran for the operation");
        Assert.That(D.GetReport().IsEmpty, "its state changed between the reads: completed, not leaked");
        Assert.That(D.PendingCount, Is.Zero);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AttachDroppedBox(int site, ref int operation)
    {
        int first = H.Suspend(ref operation, site, null);
        H.Attach(first, new object());
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int SuspendHeld(int site, object?[] holder)
    {
        holder[0] = new object();
        int operation = 0;
        H.SuspendFrame(ref operation, site, null, holder[0]!);
        return operation;
    }
}
