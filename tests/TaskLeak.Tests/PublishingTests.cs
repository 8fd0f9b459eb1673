using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.Tests;

/// <summary>Proving and publishing are apart: sinks run outside the sweep's locks, and a slow or re-entrant sink stalls nothing else.</summary>
public class PublishingTests : DetectorTest
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private int? _sites;

    private int Sites => _sites ??= TestSites.Register(D, "Publish", 3);

    [Test]
    public void A_blocking_handler_delays_only_its_publication_while_later_sweeps_prove_into_a_bounded_outbox()
    {
        int sites = Sites;
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var seen = new List<TaskLeakGroup>();
        int calls = 0;
        D.LeakDetected += (_, e) =>
        {
            lock (seen)
            {
                seen.AddRange(e.Leaks);
            }

            if (Interlocked.Increment(ref calls) == 1)
            {
                entered.Set();
                release.Wait();
            }
        };

        TestSites.DropFrame(D, sites);
        Task<TaskLeakReport> first = Task.Factory.StartNew(D.DetectNow, TaskCreationOptions.LongRunning);
        Assert.That(entered.Wait(Bound), "the handler runs");
        try
        {
            const int Sweeps = 200;
            for (int i = 0; i < Sweeps; i++)
            {
                TestSites.DropFrame(D, sites + 1 + (i % 2));
                GC.Collect();
                GC.WaitForPendingFinalizers();
                D.Sweep();
            }

            TaskLeakReport report = D.GetReport();
            Assert.That(report.Leaks.Where(g => g.Method != TestSites.Method("Publish", 0)).Sum(g => g.Count), Is.EqualTo(Sweeps),
                "every later sweep proved its leak while the handler blocked");
            Assert.That(D.Publisher.Queued, Is.EqualTo(2), "what waits for the sinks is merged by site: 2 groups, not 200 sweeps");
            Assert.That(first.IsCompleted, Is.False, "the blocked publication is still the handler's");
        }
        finally
        {
            release.Set();
        }

        Assert.That(first.Wait(Bound), "the first DetectNow returns once its handler does");
        D.DetectNow();
        lock (seen)
        {
            Assert.That(seen.Where(g => g.Method == TestSites.Method("Publish", 1)).Sum(g => g.Count), Is.EqualTo(100), "merged counts add up");
            Assert.That(seen.Where(g => g.Method == TestSites.Method("Publish", 2)).Sum(g => g.Count), Is.EqualTo(100));
        }
    }

    [Test]
    public void A_handler_that_calls_DetectNow_returns_and_what_that_call_proved_is_published_next()
    {
        int sites = Sites;
        var seen = new List<string>();
        TaskLeakReport? inner = null;
        int calls = 0;
        D.LeakDetected += (_, e) =>
        {
            lock (seen)
            {
                seen.AddRange(e.Leaks.Select(g => g.Method));
            }

            if (Interlocked.Increment(ref calls) == 1)
            {
                TestSites.DropFrame(D, sites + 1);
                inner = D.DetectNow();
            }
        };

        TestSites.DropFrame(D, sites);
        Task<TaskLeakReport> outer = Task.Factory.StartNew(D.DetectNow, TaskCreationOptions.LongRunning);

        Assert.That(outer.Wait(Bound), "no deadlock: the re-entrant DetectNow returned");
        Assert.That(inner, Is.Not.Null);
        Assert.That(inner!.Leaks.Select(g => g.Method), Does.Contain(TestSites.Method("Publish", 1)), "the inner call proved its leak");
        lock (seen)
        {
            Assert.That(seen, Is.EqualTo(new[] { TestSites.Method("Publish", 0), TestSites.Method("Publish", 1) }),
                "published in order, the inner call's leak right after the handler returned, before the outer DetectNow returned");
        }
    }

    [Test]
    public void DetectNow_on_another_thread_returns_only_after_the_sinks_saw_its_leaks_even_behind_a_slow_handler()
    {
        int sites = Sites;
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var seen = new List<string>();
        int calls = 0;
        D.LeakDetected += (_, e) =>
        {
            lock (seen)
            {
                seen.AddRange(e.Leaks.Select(g => g.Method));
            }

            if (Interlocked.Increment(ref calls) == 1)
            {
                entered.Set();
                release.Wait();
            }
        };

        TestSites.DropFrame(D, sites);
        Task first = Task.Factory.StartNew(D.DetectNow, TaskCreationOptions.LongRunning);
        Assert.That(entered.Wait(Bound));
        string[]? seenWhenSecondReturned = null;
        Task second = Task.Factory.StartNew(() =>
        {
            TestSites.DropFrame(D, sites + 2);
            D.DetectNow();
            lock (seen)
            {
                seenWhenSecondReturned = seen.ToArray();
            }
        }, TaskCreationOptions.LongRunning);

        // The second DetectNow has proved its leak but may not return while its publication waits behind the handler.
        Assert.That(SpinWait.SpinUntil(() => D.GetReport().Leaks.Any(g => g.Method == TestSites.Method("Publish", 2)), Bound));
        Assert.That(second.IsCompleted, Is.False);
        release.Set();

        Assert.That(Task.WaitAll(new[] { first, second }, Bound));
        Assert.That(seenWhenSecondReturned, Does.Contain(TestSites.Method("Publish", 2)));
    }

    [Test]
    public void A_throwing_handler_is_contained_and_counted_and_later_publications_go_on()
    {
        int sites = Sites;
        var seen = new List<string>();
        D.LeakDetected += (_, _) => throw new InvalidOperationException("handler");
        D.LeakDetected += (_, e) =>
        {
            lock (seen)
            {
                seen.AddRange(e.Leaks.Select(g => g.Method));
            }
        };

        TestSites.DropFrame(D, sites);
        D.DetectNow();
        TestSites.DropFrame(D, sites + 1);
        D.DetectNow();

        Assert.That(D.SinkFailures, Is.EqualTo(2), "each publication's throw was counted");
        Assert.That(seen, Is.EqualTo(new[] { TestSites.Method("Publish", 0), TestSites.Method("Publish", 1) }));
    }
}
