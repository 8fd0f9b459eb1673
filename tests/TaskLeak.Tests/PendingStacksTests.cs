using System;
using System.Linq;
using NUnit.Framework;

namespace TaskLeak.Tests;

/// <summary>The pending snapshot reads its own detector's registry: live operations by site, each with its logical async stack.</summary>
public class PendingStacksTests : DetectorTest
{
    [Test]
    public void Each_live_operation_is_listed_under_its_site_with_the_frames_that_await_it()
    {
        int sites = TestSites.Register(D, "Pending", 3);
        object leaf = TestSites.SuspendBox(D, sites, new FakeSourceTask(), out _);
        object mid = TestSites.SuspendBox(D, sites + 1, leaf, out _);
        object top = TestSites.SuspendBox(D, sites + 2, mid, out _);

        TaskLeakSnapshot snapshot = D.Snapshot();
        PendingOperationGroup group = snapshot.Groups.Single(g => g.Method == TestSites.Method("Pending", 0));
        PendingStack stack = group.Stacks.Single();
        Assert.That(stack.Count, Is.EqualTo(1));
        Assert.That(stack.AsyncStack.Select(f => (f.Kind, f.Method, f.Location)), Is.EqualTo(new[]
        {
            (AsyncStackFrameKind.AwaitedBy, TestSites.Method("Pending", 1), TestSites.Location("Pending", 1)),
            (AsyncStackFrameKind.AwaitedBy, TestSites.Method("Pending", 2), TestSites.Location("Pending", 2)),
        }));
        Assert.That(snapshot.Groups.Single(g => g.Method == TestSites.Method("Pending", 2)).Stacks.Single().AsyncStack, Is.Empty, "the top of the chain");
        Assert.That(snapshot.ToString(), Does.Contain(TestSites.Method("Pending", 2)));

        Assert.That(D.Snapshot(TimeSpan.FromHours(1)).Groups, Is.Empty, "none has been suspended for an hour");
        Assert.That(D.Snapshot(TimeSpan.Zero).TotalCount, Is.EqualTo(3));

        using var other = new Detector(new TaskLeakOptions());
        Assert.That(other.Snapshot().Groups, Is.Empty, "another detector's registry is its own");
        GC.KeepAlive(top);
    }
}
