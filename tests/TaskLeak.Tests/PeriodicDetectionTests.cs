using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using NUnit.Framework;
using TaskLeak.Configuration;
using TaskLeak.Detection;

namespace TaskLeak.Tests;

/// <summary>
/// Periodic detection: off by default, read from every source, at most once per interval, off the caller's threads,
/// contained, and owned by its detector (Configure starts and re-evaluates it, Dispose stops it). Each test uses its
/// own detector or its own <see cref="PeriodicDetection"/>; DetectNow's collections are process-wide but prove only
/// what each detector's registry tracks.
/// </summary>
public class PeriodicDetectionTests : DetectorTest
{

    [TestCase("30s", 30_000)]
    [TestCase("5m", 300_000)]
    [TestCase("1.5m", 90_000)]
    [TestCase("1h", 3_600_000)]
    [TestCase("00:02:00", 120_000)]
    public void The_environment_variable_takes_a_duration(string text, long milliseconds)
    {
        TaskLeakOptions options = TaskLeakConfiguration.Read(n => n == "TASKLEAK_DETECTION_INTERVAL" ? text : null, _ => null, _ => null);
        Assert.That(options.DetectionInterval, Is.EqualTo(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Test]
    public void It_is_off_by_default_and_off_turns_it_off()
    {
        Assert.That(TaskLeakConfiguration.Read(_ => null, _ => null, _ => null).DetectionInterval, Is.Null);
        Assert.That(new TaskLeakOptions().DetectionInterval, Is.Null);
        foreach (string off in new[] { "0", "off" })
        {
            TaskLeakOptions options = TaskLeakConfiguration.Read(n => n == "TASKLEAK_DETECTION_INTERVAL" ? off : null, _ => "5m", _ => null);
            Assert.That(options.DetectionInterval, Is.Null, off);
        }
    }

    [Test]
    public void The_AppContext_switch_applies_when_the_environment_is_unset()
    {
        TaskLeakOptions options = TaskLeakConfiguration.Read(_ => null, n => n == "TaskLeak.DetectionInterval" ? "2m" : null, _ => null);
        Assert.That(options.DetectionInterval, Is.EqualTo(TimeSpan.FromMinutes(2)));
    }

    [TestCase("abc")]
    [TestCase("10")]
    [TestCase("500ms")]
    [TestCase("-5m")]
    public void A_value_that_is_not_a_duration_of_a_second_or_more_is_ignored_with_a_message(string text)
    {
        TaskLeakOptions options = TaskLeakConfiguration.Read(n => n == "TASKLEAK_DETECTION_INTERVAL" ? text : null, _ => null, _ => null);
        Assert.That(options.DetectionInterval, Is.Null);
        Assert.That(TaskLeakDetector.ConfigurationErrors, Has.Some.StartsWith("TASKLEAK_DETECTION_INTERVAL=" + text + " is not a duration"));
    }

    [Test]
    public void Code_cannot_set_an_interval_under_a_second()
    {
        var options = new TaskLeakOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.DetectionInterval = TimeSpan.FromMilliseconds(999));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.DetectionInterval = TimeSpan.Zero);
        options.DetectionInterval = TimeSpan.FromSeconds(1);
        Assert.That(options.DetectionInterval, Is.EqualTo(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public void No_thread_exists_while_no_interval_is_set()
    {
        var periodic = new PeriodicDetection(() => null, () => Assert.Fail("never runs"), _ => Assert.Fail("never fails"));
        periodic.Changed();
        Assert.That(periodic.Started, Is.False);

        D.Configure(o => o.StalledThreshold = TimeSpan.FromMinutes(1));
        Assert.That(D.Periodic.Started, Is.False, "a detector starts no periodic thread while its options set no interval");
    }

    [Test]
    public void Detections_run_on_their_own_thread_at_most_once_per_interval()
    {
        long interval = TimeSpan.FromSeconds(1).Ticks; // 0: off
        var runs = new BlockingCollection<(long At, string? Thread)>();
        var periodic = new PeriodicDetection(() => Interval(Interlocked.Read(ref interval)), () => runs.Add((Stopwatch.GetTimestamp(), Thread.CurrentThread.Name)), _ => { });
        try
        {
            long enabled = Stopwatch.GetTimestamp();
            periodic.Changed();

            Assert.That(runs.TryTake(out var first, TimeSpan.FromSeconds(30)), "a first detection");
            Assert.That(runs.TryTake(out var second, TimeSpan.FromSeconds(30)), "a second detection");
            Assert.That(first.Thread, Is.EqualTo(PeriodicDetection.ThreadName));
            Assert.That(Seconds(enabled, first.At), Is.GreaterThanOrEqualTo(1.0), "the first interval counts from when it was turned on");
            // The interval counts between detection starts; these stamps are taken a little later, inside the first call (JIT).
            Assert.That(Seconds(first.At, second.At), Is.GreaterThanOrEqualTo(0.95), "never more often than the interval");

            // Off: the thread parks. On again: the next run is an interval after it was turned back on.
            Interlocked.Exchange(ref interval, 0);
            periodic.Changed();
            while (runs.TryTake(out _, TimeSpan.FromMilliseconds(1500)))
            {
            }

            long turnedOn = Stopwatch.GetTimestamp();
            Interlocked.Exchange(ref interval, TimeSpan.FromSeconds(2).Ticks);
            periodic.Changed();
            Assert.That(runs.TryTake(out var third, TimeSpan.FromSeconds(30)), "detections resume");
            Assert.That(Seconds(turnedOn, third.At), Is.GreaterThanOrEqualTo(2.0));
        }
        finally
        {
            periodic.Stop();
        }

        Assert.That(periodic.Thread!.Join(TimeSpan.FromSeconds(30)), "Stop ends the thread");
    }

    [Test]
    public void A_detection_that_throws_is_contained_and_the_next_one_still_runs()
    {
        int calls = 0;
        int failed = 0;
        using var secondCall = new ManualResetEventSlim(false);
        var periodic = new PeriodicDetection(() => TimeSpan.FromSeconds(1), () =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new InvalidOperationException("detection failed");
            }

            secondCall.Set();
        }, e => Interlocked.Increment(ref failed));
        try
        {
            periodic.Changed();
            Assert.That(secondCall.Wait(TimeSpan.FromSeconds(30)), "the thread survived the exception");
            Assert.That(periodic.Failures, Is.EqualTo(1));
            Assert.That(Volatile.Read(ref failed), Is.EqualTo(1), "reported to the owner, which counts it");
        }
        finally
        {
            periodic.Stop();
        }
    }

    [Test]
    public void Configure_turns_it_on_and_it_proves_a_leak_without_DetectNow_then_Dispose_stops_it()
    {
        int site = TestSites.Register(D, "Periodic", 1);
        using var proven = new ManualResetEventSlim(false);
        D.LeakDetected += (_, e) =>
        {
            if (e.Leaks.Any(g => g.Method == TestSites.Method("Periodic", 0)))
            {
                proven.Set();
            }
        };

        TestSites.DropFrame(D, site);
        Assert.That(D.Periodic.Started, Is.False, "off until an interval is set");
        D.Configure(o => o.DetectionInterval = TimeSpan.FromSeconds(1));
        Assert.That(D.Options.DetectionInterval, Is.EqualTo(TimeSpan.FromSeconds(1)));

        Assert.That(proven.Wait(TimeSpan.FromSeconds(30)), "proven with no DetectNow from the test");
        Assert.That(D.Periodic.Started, Is.True);
        Assert.That(SpinWait.SpinUntil(() => D.Periodic.Runs > 0, TimeSpan.FromSeconds(30)), "the detector's periodic thread ran a detection");
        Assert.That(D.GetReport().Leaks.Single(g => g.Method == TestSites.Method("Periodic", 0)).Count, Is.EqualTo(1));

        Thread thread = D.Periodic.Thread!;
        D.Dispose();
        Assert.That(D.Periodic.Started, Is.False);
        Assert.That(thread.Join(TimeSpan.FromSeconds(30)), "Dispose ends the detector's periodic thread");
    }

    [Test]
    public void Configure_re_evaluates_the_interval_of_a_running_thread()
    {
        D.Configure(o => o.DetectionInterval = TimeSpan.FromHours(1));
        Assert.That(D.Periodic.Started, Is.True, "an interval starts the thread");
        Assert.That(D.Periodic.Runs, Is.Zero, "the first run is an interval after it was turned on");

        // The thread is waiting out an hour: only Configure waking it to re-read the interval lets the next run come now.
        D.Configure(o => o.DetectionInterval = TimeSpan.FromSeconds(1));
        Assert.That(SpinWait.SpinUntil(() => D.Periodic.Runs > 0, TimeSpan.FromSeconds(30)), "the shorter interval took effect");
        D.Configure(o => o.DetectionInterval = null);
    }

    private static TimeSpan? Interval(long ticks) => ticks == 0 ? null : TimeSpan.FromTicks(ticks);

    private static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;
}
