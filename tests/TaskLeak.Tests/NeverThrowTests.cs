using System;
using System.Linq;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using NUnit.Framework;
using TaskLeak.CompilerServices;
using TaskLeak.Tracking;

namespace TaskLeak.Tests;

/// <summary>Nothing the weaver emits throws into user code: bad site tables, corrupt operation values, a sweeper that cannot start.</summary>
public class NeverThrowTests : DetectorTest
{
    [Test]
    public void A_version_1_table_and_a_legacy_table_without_header_are_both_read()
    {
        int current = D.RegisterModule(TestSites.Table("Versioned", 2), 2, () => "Current");
        int legacy = D.RegisterModule(TestSites.Table("Legacy", 2, header: false), 2, () => "Legacy");
        TestSites.DropFrame(D, current + 1);
        TestSites.DropFrame(D, legacy + 1);

        TaskLeakReport report = D.DetectNow();

        Assert.That(report.Leaks.Select(g => (g.Method, g.AwaitSite)), Is.EquivalentTo(new[]
        {
            (TestSites.Method("Versioned", 1), TestSites.Location("Versioned", 1)),
            (TestSites.Method("Legacy", 1), TestSites.Location("Legacy", 1)),
        }));
        Assert.That(D.Sinks.Errors, Is.Empty);
    }

    [TestCase("TaskLeakSites:2\nA\u001FM\u001F\u001F1\u001FIL_0000\u001FT\u001F\u001Fasync Task", 1, "version 2")]
    [TestCase("TaskLeakSites:1\nA\u001FM\u001F\u001F1\u001FIL_0000\u001FT\u001F\u001Fasync Task", 3, "1 rows where its module declares 3")]
    [TestCase(null, 1, "missing")]
    [TestCase("", -1, "negative size")]
    public void A_table_this_runtime_cannot_read_turns_its_module_off_and_is_reported_once(string? table, int count, string reason)
    {
        using var provider = new FakeLoggerProvider();
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(provider));
        int good = TestSites.Register(D, "Good", 1);

        int first = D.RegisterModule(table, count, () => "Plugin");

        Assert.That(first, Is.Negative, "every site id of the module is negative");
        int operation = 0;
        object? token = null;
        H.SuspendFrame(ref operation, first, null, new object());
        H.SuspendWithToken(ref operation, ref token, first, null);
        Assert.That(H.Suspend(ref operation, first, null), Is.Zero);
        Assert.That(operation, Is.Zero, "the module's operations are not tracked");
        Assert.That(token, Is.Null);
        Assert.That(H.EnterSpawn(first), Is.SameAs(OperationTracker.SpawnNotEntered), "nor its spawn sites");
        string error = D.Sinks.Errors.Single();
        Assert.That(error, Does.StartWith("Tracking is off for module Plugin: ").And.Contain(reason));

        D.UseLoggerFactory(factory);
        FakeLogRecord logged = provider.Collector.GetSnapshot().Single();
        Assert.That(logged.Id.Id, Is.EqualTo(4));
        Assert.That(logged.Level, Is.EqualTo(LogLevel.Error));
        Assert.That(logged.Message, Does.Contain(error), "a logger attached later still hears of it, once");

        TestSites.DropFrame(D, good);
        Assert.That(D.DetectNow().Leaks.Single().Method, Is.EqualTo(TestSites.Method("Good", 0)), "other modules are tracked as before");
    }

    [Test]
    public void The_woven_registration_hook_never_throws_and_names_the_module_in_the_configuration_errors()
    {
        int first = TaskLeakHooks.RegisterSites("TaskLeakSites:7\nrow", 1);

        Assert.That(first, Is.EqualTo(SiteRegistry.DisabledBase));
        Assert.That(TaskLeakDetector.ConfigurationErrors, Has.Some.StartsWith("Tracking is off for module TaskLeak.Tests: the site table has version 7"));
    }

    [TestCase(int.MaxValue)]
    [TestCase(-5)]
    public void Hooks_given_a_corrupt_operation_count_an_internal_error_instead_of_throwing(int corrupt)
    {
        int before = TaskLeakDetector.InternalErrors;
        int operation = corrupt;
        object? token = null;

        Assert.DoesNotThrow(() =>
        {
            TaskLeakHooks.EnterOperation(corrupt);
            TaskLeakHooks.Attach(corrupt, new object());
            TaskLeakHooks.Suspend(ref operation, 1, null);
            TaskLeakHooks.SuspendFrame(ref operation, 1, null, new object());
            TaskLeakHooks.SuspendWithToken(ref operation, ref token, 1, null);
            TaskLeakHooks.Complete(ref operation);
            TaskLeakHooks.ExitSpawn(TaskLeakHooks.EnterSpawn(1));
        });

        Assert.That(TaskLeakDetector.InternalErrors - before, Is.GreaterThanOrEqualTo(6), "each corrupt call was contained and counted");
    }

    [Test]
    public void A_sweeper_that_fails_to_start_is_reported_once_retried_and_then_detects_in_the_background()
    {
        int attempts = 0;
        using var detector = new Detector(new TaskLeakOptions(), background: true, threadFactory: start =>
        {
            if (Interlocked.Increment(ref attempts) <= 2)
            {
                throw new OutOfMemoryException("no thread for you");
            }

            return new Thread(start);
        });
        int site = TestSites.Register(detector, "Background", 1);
        var frames = new object[200];
        var operations = new int[frames.Length];

        // Each refill of the thread's slot cache (every 32 first suspensions) tries to start the threads again.
        for (int i = 0; i < frames.Length && !detector.Started; i++)
        {
            frames[i] = new object();
            detector.Tracker.SuspendFrame(ref operations[i], site, null, frames[i]);
        }

        Assert.That(detector.Started, "started at a later attempt");
        Assert.That(detector.StartFailures, Is.EqualTo(2));
        Assert.That(detector.Sinks.Errors.Single(), Does.StartWith("The background sweeper could not start (OutOfMemoryException: no thread for you)"));
        Assert.That(detector.InternalErrors, Is.Zero, "nothing reached the hooks' callers");

        using var proven = new ManualResetEventSlim();
        detector.LeakDetected += (_, e) =>
        {
            if (e.Leaks.Any(g => g.Method == TestSites.Method("Background", 0)))
            {
                proven.Set();
            }
        };
        TestSites.DropFrame(detector, site);
        bool seen = SpinWait.SpinUntil(() =>
        {
            GC.Collect();
            return proven.Wait(100);
        }, TimeSpan.FromSeconds(60));

        Assert.That(seen, "the background sweeper proved and published the leak after a collection, with no DetectNow");
        GC.KeepAlive(frames);
    }
}
