using System;
using System.Threading;
using NUnit.Framework;
using TaskLeak.Tracking;

namespace TaskLeak.Tests;

/// <summary>The first suspension's cached clock: never ahead of the system clock, refreshed while used, idle when not.</summary>
[NonParallelizable]
public class ClockTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public void The_cached_clock_is_never_ahead_and_moves_on_while_it_is_used()
    {
        long first = Clock.CoarseMilliseconds();
        Assert.That(first, Is.LessThanOrEqualTo(Clock.NowMilliseconds()));
        Assert.That(Clock.IsTicking, "a use starts the ticking");

        bool moved = SpinWait.SpinUntil(() =>
        {
            Thread.Sleep(Clock.TickMilliseconds);
            return Clock.CoarseMilliseconds() > first;
        }, Bound);

        Assert.That(moved, "the sweeper's thread invalidates the cached value, so a later read is a later time");
        Assert.That(Clock.CoarseMilliseconds(), Is.LessThanOrEqualTo(Clock.NowMilliseconds()));
    }

    [Test]
    public void The_ticking_stops_when_the_clock_goes_unused_and_restarts_on_the_next_read()
    {
        _ = Clock.CoarseMilliseconds();

        // Nothing else in this process suspends woven code meanwhile (the fixture is not parallel).
        Assert.That(SpinWait.SpinUntil(() => !Clock.IsTicking, Bound), "a tick that finds the value unused stops the ticking");
        long restarted = Clock.CoarseMilliseconds();

        Assert.That(Clock.IsTicking, "the next read restarts it");
        Assert.That(restarted, Is.LessThanOrEqualTo(Clock.NowMilliseconds()));
    }
}
