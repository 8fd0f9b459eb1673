using System;
using System.Runtime.CompilerServices;
using NUnit.Framework;
using TaskLeak.CompilerServices;

namespace TaskLeak.Tests;

/// <summary>
/// The hook protocol as woven code drives it, without a weaver: a plain object stands in for the state-machine
/// box, and dropping it plays the part of a dropped completion source.
/// </summary>
public class HookProtocolTests : DetectorTest
{
    private int? _s_site;

    private int s_site => _s_site ??= D.RegisterModule(
        "A\u001FTests.Frames.Wait\u001F/src/Frames.cs\u001F12\u001FIL_0010\u001FTaskCompletionSource<int>.Task\u001F\u001Fasync Task", 1, () => "Tests");


    [Test]
    public void A_box_attached_then_collected_is_a_proven_leak()
    {
        SuspendAndDropBox();

        TaskLeakReport report = D.DetectNow();

        TaskLeakGroup leak = report.Leaks[0];
        Assert.That(report.Leaks, Has.Count.EqualTo(1));
        Assert.That(leak.Method, Is.EqualTo("Tests.Frames.Wait"));
        Assert.That(leak.AwaitSite, Is.EqualTo("Frames.cs:12"));
        Assert.That(leak.WaitTarget, Is.EqualTo("TaskCompletionSource<int>.Task"));
    }

    [Test]
    public void Completion_before_attach_releases_the_slot_without_a_report()
    {
        int operation = 0;
        int first = H.Suspend(ref operation, s_site, null);
        H.Complete(ref operation);
        Assert.That(operation, Is.Zero);
        H.Attach(first, new object());

        Assert.That(D.DetectNow().IsEmpty);
        Assert.That(D.PendingCount, Is.Zero);
    }

    [Test]
    public void A_live_frame_is_never_reported_and_completing_it_releases_it()
    {
        var frame = new object();
        int operation = 0;
        H.SuspendFrame(ref operation, s_site, null, frame);
        Assert.That(operation, Is.Not.Zero);

        Assert.That(D.DetectNow().IsEmpty);
        Assert.That(D.PendingCount, Is.EqualTo(1));
        H.Complete(ref operation);
        GC.KeepAlive(frame);

        Assert.That(D.PendingCount, Is.Zero);
        Assert.That(D.DetectNow().IsEmpty);
    }

    [Test]
    public void A_later_suspension_does_not_register_again()
    {
        var frame = new object();
        int operation = 0;
        H.SuspendFrame(ref operation, s_site, null, frame);
        int registered = operation;
        H.SuspendFrame(ref operation, s_site, null, frame);

        Assert.That(operation, Is.EqualTo(registered));
        Assert.That(D.PendingCount, Is.EqualTo(1));
        H.Complete(ref operation);
        GC.KeepAlive(frame);
    }

    [Test]
    public void The_kill_switch_makes_hooks_track_nothing()
    {
        D.Configure(o => o.Enabled = false);
        try
        {
            int operation = 0;
            Assert.That(H.Suspend(ref operation, s_site, null), Is.Zero);
            H.SuspendFrame(ref operation, s_site, null, new object());
            Assert.That(operation, Is.Zero);
        }
        finally
        {
            D.Configure(o => o.Enabled = true);
        }
    }

    [Test]
    public void A_resumed_operation_is_current_until_it_suspends_again_or_completes_even_after_the_kill_switch()
    {
        var outerFrame = new object();
        var innerFrame = new object();
        int outer = 0;
        int inner = 0;
        H.SuspendFrame(ref outer, s_site, null, outerFrame);
        H.SuspendFrame(ref inner, s_site, null, innerFrame);
        Assert.That(Tracking.OperationContext.Of(D.Registry), Is.Zero);

        H.EnterOperation(outer);
        Assert.That(Tracking.OperationContext.Of(D.Registry), Is.EqualTo(outer));
        H.EnterOperation(inner);
        Assert.That(Tracking.OperationContext.Of(D.Registry), Is.EqualTo(inner), "a continuation run inline nests");
        H.Complete(ref inner);
        Assert.That(Tracking.OperationContext.Of(D.Registry), Is.EqualTo(outer), "a completion restores the one it interrupted");

        D.Configure(o => o.Enabled = false);
        try
        {
            int tracked = outer;
            H.SuspendFrame(ref outer, s_site, null, outerFrame);
            Assert.That(outer, Is.EqualTo(tracked), "a tracked operation stays tracked");
            Assert.That(Tracking.OperationContext.Of(D.Registry), Is.Zero, "its suspension restores the thread's context, kill switch or not");
            H.Complete(ref outer);
            Assert.That(outer, Is.Zero);
        }
        finally
        {
            D.Configure(o => o.Enabled = true);
        }

        GC.KeepAlive(outerFrame);
        GC.KeepAlive(innerFrame);
        Assert.That(D.PendingCount, Is.Zero);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SuspendAndDropBox()
    {
        int operation = 0;
        int first = H.Suspend(ref operation, s_site, null);
        H.Attach(first, new object());
    }
}
