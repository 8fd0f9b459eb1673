using System;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;
using TaskLeak.CompilerServices;
using TaskLeak.Detection;

namespace TaskLeak.Tests;

/// <summary>Proven, stalled and growing are separate tiers: a reachable operation is never reported as proven.</summary>
public class TierTests : DetectorTest
{
    private int? _s_sites;

    private int s_sites => _s_sites ??= TestSites.Register(D, "Tier", 4);



    [Test]
    public void A_reachable_stuck_operation_is_stalled_and_never_proven()
    {
        var held = new HeldOperations(D, s_sites, 3);
        try
        {
            TaskLeakReport report = D.DetectNow();
            IReadOnlyList<StalledOperationGroup> stalled = D.GetStalled(TimeSpan.Zero);

            Assert.That(report.IsEmpty, "reachable: nothing is proven");
            StalledOperationGroup group = stalled.Single(g => g.Method == TestSites.Method("Tier", 0));
            Assert.That(group.Count, Is.EqualTo(3));
            Assert.That(group.AwaitSite, Is.EqualTo("Tier.cs:1"));
            Assert.That(group.ToString(), Does.EndWith("[suspected \u2014 still reachable]"));
            Assert.That(D.GetStalled(TimeSpan.FromHours(1)), Is.Empty, "none has waited an hour");
        }
        finally
        {
            held.Complete();
        }

        Assert.That(D.GetStalled(TimeSpan.Zero).Where(g => g.Method == TestSites.Method("Tier", 0)), Is.Empty);
        Assert.That(D.DetectNow().IsEmpty);
    }

    [Test]
    public void A_resumed_operation_is_timed_from_the_first_check_that_saw_it_resume()
    {
        var frame = new object();
        int operation = 0;
        H.SuspendFrame(ref operation, s_sites, null, frame);
        System.Threading.Thread.Sleep(30);
        Assert.That(D.GetStalled(TimeSpan.FromMilliseconds(20)).Select(g => g.Method), Does.Contain(TestSites.Method("Tier", 0)));

        H.SuspendFrame(ref operation, s_sites + 1, null, frame);

        Assert.That(D.GetStalled(TimeSpan.FromMilliseconds(20)), Is.Empty, "its age at the new await is not overstated");
        H.Complete(ref operation);
        GC.KeepAlive(frame);
    }

    [Test]
    public void A_collected_frame_is_proven_and_leaves_the_stalled_tier()
    {
        TestSites.DropFrame(D, s_sites + 2);
        TaskLeakReport report = D.DetectNow();

        Assert.That(report.Leaks.Single().Method, Is.EqualTo(TestSites.Method("Tier", 2)));
        Assert.That(D.GetStalled(TimeSpan.Zero).Where(g => g.Method == TestSites.Method("Tier", 2)), Is.Empty);
    }

    [Test]
    public void A_site_whose_live_count_keeps_rising_is_a_growing_site()
    {
        D.Configure(o =>
        {
            o.GrowingSiteSweeps = 3;
            o.GrowingSiteMinimumIncrease = 10;
        });
        var held = new List<HeldOperations>();
        try
        {
            for (int sweep = 0; sweep < 2; sweep++)
            {
                held.Add(new HeldOperations(D, s_sites + 3, 5));
                D.DetectNow();
                Assert.That(D.GetGrowingSites().Where(g => g.Method == TestSites.Method("Tier", 3)), Is.Empty, "too few rising sweeps");
            }

            D.DetectNow();
            Assert.That(D.GetGrowingSites().Where(g => g.Method == TestSites.Method("Tier", 3)), Is.Empty, "an equal count does not rise");
            held.Add(new HeldOperations(D, s_sites + 3, 5));
            D.DetectNow();

            GrowingSite site = D.GetGrowingSites().Single(g => g.Method == TestSites.Method("Tier", 3));
            Assert.That(site.Count, Is.EqualTo(15));
            Assert.That(site.Sweeps, Is.EqualTo(3));
            Assert.That(site.Increase, Is.EqualTo(15));
            Assert.That(D.DetectNow().IsEmpty, "growing is suspected, never proven");

            held[0].Complete();
            D.DetectNow();
            Assert.That(D.GetGrowingSites().Where(g => g.Method == TestSites.Method("Tier", 3)), Is.Empty, "a fall ends the streak");
        }
        finally
        {
            foreach (HeldOperations h in held)
            {
                h.Complete();
            }
        }
    }
}

/// <summary>
/// Frame-strategy operations kept reachable (a completion source kept in a static, say) until completed. The test's
/// detector sweeps only when the test asks, so a wave is always seen whole.
/// </summary>
internal sealed class HeldOperations
{
    private readonly Detector _detector;
    private readonly object[] _frames;
    private readonly int[] _operations;

    internal HeldOperations(Detector detector, int site, int count)
    {
        _detector = detector;
        _frames = new object[count];
        _operations = new int[count];
        for (int i = 0; i < count; i++)
        {
            _frames[i] = new object();
            detector.Tracker.SuspendFrame(ref _operations[i], site, new FakeSourceTask(), _frames[i]);
        }
    }

    internal void Complete()
    {
        for (int i = 0; i < _operations.Length; i++)
        {
            _detector.Tracker.Complete(ref _operations[i]);
        }
    }
}
