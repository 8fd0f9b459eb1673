using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using NUnit.Framework;
using TaskLeak.CompilerServices;
using TaskLeak.Detection;
using TaskLeak.Tracking;

namespace TaskLeak.Tests;

/// <summary>Root causes, not piles: chains over awaits links and parent edges, cycles, caps, awaiters proven later.</summary>
public class ChainTests : DetectorTest
{
    private int? _s_sites;

    private int s_sites => _s_sites ??= TestSites.Register(D, "Chain", 8);
    private int? _s_deep;

    private int s_deep => _s_deep ??= TestSites.Register(D, "Deep", 100);

    private int Leaf => s_sites;
    private int Mid => s_sites + 1;
    private int Top => s_sites + 2;


    [Test]
    public void A_chain_linked_by_awaits_is_one_leak_rooted_at_the_innermost_await()
    {
        StartAwaitChain();

        TaskLeakReport report = D.DetectNow();

        TaskLeakGroup leak = report.Leaks.Single();
        Assert.That(leak.Method, Is.EqualTo(TestSites.Method("Chain", 0)));
        Assert.That(leak.Count, Is.EqualTo(1));
        Assert.That(leak.AwaiterCount, Is.EqualTo(2));
        Assert.That(leak.AsyncStack.Select(f => (f.Kind, f.Method, f.Location)), Is.EqualTo(new[]
        {
            (AsyncStackFrameKind.AwaitedBy, TestSites.Method("Chain", 1), TestSites.Location("Chain", 1)),
            (AsyncStackFrameKind.AwaitedBy, TestSites.Method("Chain", 2), TestSites.Location("Chain", 2)),
        }));
        Assert.That(leak.Chain, Is.EqualTo(
            "Tests.Chain0.Run (Chain.cs:1) \u2190 awaited by Tests.Chain1.Run (Chain.cs:2) \u2190 awaited by Tests.Chain2.Run (Chain.cs:3)"));
        Assert.That(report.TotalCount, Is.EqualTo(1), "the awaiters are not counted as leaks of their own");
    }

    [Test]
    public void A_chain_known_only_through_parent_edges_is_one_leak_rooted_at_the_innermost_operation()
    {
        StartParentChain();

        TaskLeakReport report = D.DetectNow();

        TaskLeakGroup leak = report.Leaks.Single();
        Assert.That(leak.Method, Is.EqualTo(TestSites.Method("Chain", 0)));
        Assert.That(leak.AwaiterCount, Is.EqualTo(2));
        Assert.That(leak.AsyncStack.Select(f => (f.Kind, f.Method)), Is.EqualTo(new[]
        {
            (AsyncStackFrameKind.CalledBy, TestSites.Method("Chain", 1)),
            (AsyncStackFrameKind.CalledBy, TestSites.Method("Chain", 2)),
        }));
        Assert.That(leak.Chain, Does.Contain("\u2190 called by Tests.Chain1.Run (Chain.cs:2)"));
    }

    [Test]
    public void A_parent_stuck_on_something_else_is_its_own_root_and_the_child_names_it_as_caller()
    {
        StartFireAndForget();

        TaskLeakReport report = D.DetectNow();

        Assert.That(report.Leaks.Select(l => l.Method), Is.EquivalentTo(new[] { TestSites.Method("Chain", 0), TestSites.Method("Chain", 2) }));
        TaskLeakGroup child = report.Leaks.Single(l => l.Method == TestSites.Method("Chain", 0));
        Assert.That(child.AwaiterCount, Is.Zero);
        AsyncStackFrame caller = child.AsyncStack.Single();
        Assert.That(caller.Kind, Is.EqualTo(AsyncStackFrameKind.CalledBy));
        // Where the parent had resumed from when it started the child (the test's rows each name their own method).
        Assert.That(caller.Method, Is.EqualTo(TestSites.Method("Chain", 3)));
        Assert.That(caller.Location, Is.EqualTo(TestSites.Location("Chain", 3)));
    }

    [Test]
    public void A_live_parent_still_appears_as_the_caller_of_a_leaked_child()
    {
        var parentFrame = new object();
        int parent = 0;
        H.SuspendFrame(ref parent, Top, null, parentFrame);
        H.EnterOperation(parent);
        TestSites.DropFrame(D, Leaf);
        H.SuspendFrame(ref parent, Top, null, parentFrame);

        TaskLeakGroup leak = D.DetectNow().Leaks.Single();

        Assert.That(leak.AsyncStack.Single().ToString(), Is.EqualTo("called by Tests.Chain2.Run (Chain.cs:3)"));
        H.Complete(ref parent);
        GC.KeepAlive(parentFrame);
    }

    [Test]
    public void Several_roots_at_one_site_are_counted_in_one_group()
    {
        for (int i = 0; i < 5; i++)
        {
            StartAwaitChain();
        }

        TestSites.DropFrame(D, Leaf, new FakeSourceTask());

        TaskLeakGroup leak = D.DetectNow().Leaks.Single();
        Assert.That(leak.Count, Is.EqualTo(6));
        Assert.That(leak.AwaiterCount, Is.EqualTo(10));
    }

    [Test]
    public void A_cycle_of_awaits_is_one_leak()
    {
        var proven = new List<ProvenOperation>
        {
            new(900_001, 3, Leaf, awaits: 900_003, awaitsGeneration: 5, parent: 0, parentGeneration: 0, parentSite: 0, typeof(object)),
            new(900_002, 5, Mid, awaits: 900_002, awaitsGeneration: 3, parent: 0, parentGeneration: 0, parentSite: 0, typeof(object)),
        };

        IReadOnlyList<TaskLeakGroup> groups = D.Ledger.Record(proven);

        TaskLeakGroup leak = groups.Single();
        Assert.That(leak.Count, Is.EqualTo(1));
        Assert.That(leak.AwaiterCount, Is.EqualTo(1));
        Assert.That(leak.AsyncStack, Has.Count.EqualTo(1));
    }

    [Test]
    public void A_deep_chain_is_one_leak_whose_stack_is_capped()
    {
        var proven = new List<ProvenOperation>();
        for (int i = 0; i < 100; i++)
        {
            // Operation i sits at Deep{i} and awaits operation i - 1; operation 0 is the innermost.
            proven.Add(new ProvenOperation(800_000 + i, 1, s_deep + i, awaits: i == 0 ? 0 : 800_000 + i, awaitsGeneration: 1, parent: 0,
                parentGeneration: 0, parentSite: 0, typeof(object)));
        }

        TaskLeakGroup leak = D.Ledger.Record(proven).Single();

        Assert.That(leak.Method, Is.EqualTo(TestSites.Method("Deep", 0)));
        Assert.That(leak.AwaiterCount, Is.EqualTo(99));
        Assert.That(leak.AsyncStack, Has.Count.EqualTo(LeakLedger.MaxChainDepth));
        Assert.That(leak.AsyncStack[0].Method, Is.EqualTo(TestSites.Method("Deep", 1)));
    }

    [Test]
    public void An_awaiter_proven_in_a_later_sweep_joins_the_earlier_root_instead_of_making_a_new_leak()
    {
        var reported = new List<TaskLeakGroup>();
        EventHandler<TaskLeakDetectedEventArgs> handler = (_, e) => { lock (reported) { reported.AddRange(e.Leaks); } };
        D.LeakDetected += handler;
        try
        {
            D.Ledger.Record(new List<ProvenOperation> { new(700_001, 4, Leaf, 0, 0, 0, 0, 0, typeof(FakeSourceTask)) });
            IReadOnlyList<TaskLeakGroup> later = D.Ledger.Record(new List<ProvenOperation>
            {
                new(700_002, 1, Mid, awaits: 700_002, awaitsGeneration: 4, 0, 0, 0, typeof(object)),
            });

            Assert.That(later, Is.Empty, "no new root");
            TaskLeakGroup leak = D.GetReport().Leaks.Single();
            Assert.That(leak.Count, Is.EqualTo(1));
            Assert.That(leak.AwaiterCount, Is.EqualTo(1));
            Assert.That(leak.AsyncStack.Single().Method, Is.EqualTo(TestSites.Method("Chain", 1)));
        }
        finally
        {
            D.LeakDetected -= handler;
        }
    }

    [Test]
    public void Resumed_operations_become_the_parent_and_stop_being_it_when_they_complete()
    {
        var parentFrame = new object();
        int parent = 0;
        H.SuspendFrame(ref parent, Top, null, parentFrame);
        H.EnterOperation(parent);
        int parentSlot = parent;
        H.Complete(ref parent);
        Assert.That(OperationContext.Of(D.Registry), Is.Zero, "a completed operation is nobody's parent");

        var childFrame = new object();
        int child = 0;
        H.SuspendFrame(ref child, Leaf, null, childFrame);
        Assert.That(D.Registry.At(child - 1).Parent, Is.Zero);
        H.Complete(ref child);
        GC.KeepAlive(parentFrame);
        GC.KeepAlive(childFrame);
        Assert.That(parentSlot, Is.Not.Zero);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartAwaitChain()
    {
        // Leaf awaits a source nobody else has; Mid awaits Leaf's task (its box); Top awaits Mid's.
        object leaf = TestSites.SuspendBox(D, Leaf, new FakeSourceTask(), out _);
        object mid = TestSites.SuspendBox(D, Mid, leaf, out _);
        TestSites.SuspendBox(D, Top, mid, out _);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartParentChain()
    {
        // Top suspends on something opaque (a ValueTask: no awaited object), resumes and starts Mid, which starts Leaf.
        // Each suspends again before its frame is dropped, which restores the thread's current operation.
        var topFrame = new object();
        int top = 0;
        H.SuspendFrame(ref top, Top, null, topFrame);
        H.EnterOperation(top);
        var midFrame = new object();
        int mid = 0;
        H.SuspendFrame(ref mid, Mid, null, midFrame);
        H.EnterOperation(mid);
        TestSites.DropFrame(D, Leaf);
        H.SuspendFrame(ref mid, Mid, null, midFrame);
        H.SuspendFrame(ref top, Top, null, topFrame);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartFireAndForget()
    {
        // The parent resumes from Chain.cs:4, starts a child and then awaits a completion source of its own.
        var parentFrame = new object();
        int parent = 0;
        H.SuspendFrame(ref parent, s_sites + 3, null, parentFrame);
        H.EnterOperation(parent);
        TestSites.DropFrame(D, Leaf);
        H.SuspendFrame(ref parent, Top, new FakeSourceTask(), parentFrame);
    }
}
