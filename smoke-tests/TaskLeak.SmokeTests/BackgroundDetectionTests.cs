using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using NUnit.Framework;

namespace TaskLeak.SmokeTests;

/// <summary>Detection without DetectNow: an ordinary collection wakes the background sweeper.</summary>
[NonParallelizable] // Woven code reports to the process's one default detector, which these tests reset and whose leaks they count.
public class BackgroundDetectionTests
{
    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
    }

    [Test]
    public void A_collection_wakes_the_sweeper_which_raises_LeakDetected()
    {
        var seen = new ConcurrentQueue<(TaskLeakGroup Group, int Thread)>();
        EventHandler<TaskLeakDetectedEventArgs> handler = (_, e) =>
        {
            foreach (TaskLeakGroup group in e.Leaks)
            {
                seen.Enqueue((group, Environment.CurrentManagedThreadId));
            }
        };
        TaskLeakDetector.LeakDetected += handler;
        try
        {
            Scenarios.StartDropped();

            bool reported = SpinWait.SpinUntil(
                () =>
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Thread.Sleep(20);
                    return seen.Any(s => s.Group.Method == "TaskLeak.SmokeTests.Scenarios.AwaitSourceAsync");
                },
                TimeSpan.FromSeconds(30));

            Assert.That(reported, "the background sweeper reported the leak after a collection");
            Assert.That(seen.First().Thread, Is.Not.EqualTo(Environment.CurrentManagedThreadId), "reported off the application thread");
            Assert.That(TaskLeakDetector.GetReport().Leaks.Single().Count, Is.EqualTo(1));
        }
        finally
        {
            TaskLeakDetector.LeakDetected -= handler;
        }
    }

    [Test]
    public void A_throwing_handler_is_contained_and_counted()
    {
        int before = TaskLeakDetector.SinkFailures;
        EventHandler<TaskLeakDetectedEventArgs> handler = (_, _) => throw new InvalidOperationException("sink failure");
        TaskLeakDetector.LeakDetected += handler;
        try
        {
            Scenarios.StartDropped();
            TaskLeakReport report = TaskLeakDetector.DetectNow();

            Assert.That(report.Leaks, Has.Count.EqualTo(1));
            Assert.That(TaskLeakDetector.SinkFailures, Is.GreaterThan(before));
        }
        finally
        {
            TaskLeakDetector.LeakDetected -= handler;
        }
    }
}
