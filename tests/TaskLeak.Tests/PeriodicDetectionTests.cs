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

/// <summary>Periodic detection: off by default, read from every source, at most once per interval, off the caller's threads, contained.</summary>
[NonParallelizable]
public class PeriodicDetectionTests
{
    private static readonly int s_site = TestSites.Register("Periodic", 1);

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
        var periodic = new PeriodicDetection(() => null, () => Assert.Fail("never runs"));
        periodic.Changed();
        Assert.That(periodic.Started, Is.False);
    }

    [Test]
    public void Detections_run_on_their_own_thread_at_most_once_per_interval()
    {
        long interval = TimeSpan.FromSeconds(1).Ticks; // 0: off
        var runs = new BlockingCollection<(long At, string? Thread)>();
        var periodic = new PeriodicDetection(() => Interval(Interlocked.Read(ref interval)), () => runs.Add((Stopwatch.GetTimestamp(), Thread.CurrentThread.Name)));
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
        Interlocked.Exchange(ref interval, 0);
        periodic.Changed();
    }

    [Test]
    public void A_detection_that_throws_is_contained_and_the_next_one_still_runs()
    {
        long interval = TimeSpan.FromSeconds(1).Ticks; // 0: off
        int calls = 0;
        using var secondCall = new ManualResetEventSlim(false);
        int sinkFailures = TaskLeakDetector.SinkFailures;
        var periodic = new PeriodicDetection(() => Interval(Interlocked.Read(ref interval)), () =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new InvalidOperationException("detection failed");
            }

            secondCall.Set();
        });
        periodic.Changed();

        Assert.That(secondCall.Wait(TimeSpan.FromSeconds(30)), "the thread survived the exception");
        Assert.That(periodic.Failures, Is.EqualTo(1));
        Assert.That(TaskLeakDetector.SinkFailures, Is.GreaterThan(sinkFailures), "counted where contained failures are counted");
        Interlocked.Exchange(ref interval, 0);
        periodic.Changed();
    }

    [Test]
    public void Configure_turns_it_on_and_it_proves_a_leak_without_DetectNow()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        using var proven = new ManualResetEventSlim(false);
        EventHandler<TaskLeakDetectedEventArgs> handler = (_, e) =>
        {
            if (e.Leaks.Any(g => g.Method == TestSites.Method("Periodic", 0)))
            {
                proven.Set();
            }
        };
        TaskLeakDetector.LeakDetected += handler;
        long runs = PeriodicDetection.Default.Runs;
        try
        {
            TestSites.DropFrame(s_site);
            TaskLeakDetector.Configure(o => o.DetectionInterval = TimeSpan.FromSeconds(1));
            Assert.That(TaskLeakDetector.Options.DetectionInterval, Is.EqualTo(TimeSpan.FromSeconds(1)));

            Assert.That(proven.Wait(TimeSpan.FromSeconds(30)), "proven with no DetectNow from the test");
            Assert.That(PeriodicDetection.Default.Started, Is.True);
            Assert.That(SpinWait.SpinUntil(() => PeriodicDetection.Default.Runs > runs, TimeSpan.FromSeconds(30)), "the periodic thread ran a detection");
            Assert.That(TaskLeakDetector.GetReport().Leaks.Single(g => g.Method == TestSites.Method("Periodic", 0)).Count, Is.EqualTo(1));
        }
        finally
        {
            TaskLeakDetector.LeakDetected -= handler;
            TaskLeakDetector.Configure(o => o.DetectionInterval = null);
        }
    }

    private static TimeSpan? Interval(long ticks) => ticks == 0 ? null : TimeSpan.FromTicks(ticks);

    private static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;
}
