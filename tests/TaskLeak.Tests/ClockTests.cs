using System;
using System.Threading;
using NUnit.Framework;
using TaskLeak.Tracking;

namespace TaskLeak.Tests;

/// <summary>The first suspension's cached clock: never ahead of the system clock, refreshed while used, idle when not.</summary>
public class ClockTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public void The_cached_clock_is_never_ahead_and_moves_on_while_it_is_used()
    {
        using var detector = new Detector(new TaskLeakOptions(), background: true);
        Clock clock = detector.Tracker.Clock;
        long first = clock.CoarseMilliseconds();
        Assert.That(first, Is.LessThanOrEqualTo(Clock.NowMilliseconds()));
        Assert.That(clock.IsTicking, "a use starts the ticking");

        bool moved = SpinWait.SpinUntil(() =>
        {
            Thread.Sleep(Clock.TickMilliseconds);
            return clock.CoarseMilliseconds() > first;
        }, Bound);

        Assert.That(moved, "the sweeper's thread invalidates the cached value, so a later read is a later time");
        Assert.That(clock.CoarseMilliseconds(), Is.LessThanOrEqualTo(Clock.NowMilliseconds()));
    }

    [Test]
    public void The_ticking_stops_when_the_clock_goes_unused_and_restarts_on_the_next_read()
    {
        // The detector is this test's own: nothing else reads its clock.
        using var detector = new Detector(new TaskLeakOptions(), background: true);
        Clock clock = detector.Tracker.Clock;
        _ = clock.CoarseMilliseconds();

        Assert.That(SpinWait.SpinUntil(() => !clock.IsTicking, Bound), "a tick that finds the value unused stops the ticking");
        long restarted = clock.CoarseMilliseconds();

        Assert.That(clock.IsTicking, "the next read restarts it");
        Assert.That(restarted, Is.LessThanOrEqualTo(Clock.NowMilliseconds()));
    }

    [Test]
    public void Without_a_ticker_every_read_is_the_system_clock()
    {
        var clock = new Clock(null);
        long before = Clock.NowMilliseconds();
        long read = clock.CoarseMilliseconds();

        Assert.That(read, Is.InRange(before, Clock.NowMilliseconds()));
        Assert.That(clock.IsTicking, Is.False);
    }
}
