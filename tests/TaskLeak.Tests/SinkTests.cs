using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using NUnit.Framework;
using TaskLeak.Diagnostics;

namespace TaskLeak.Tests;

/// <summary>Every sink sees every finding with its structured fields; a throwing sink is contained and counted.</summary>
public class SinkTests : DetectorTest
{
    private int? _s_sites;

    private int s_sites => _s_sites ??= TestSites.Register(D, "Sink", 3);



    [Test]
    public void The_logger_gets_event_1_for_a_leak_with_its_structured_fields()
    {
        using var provider = new FakeLoggerProvider();
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(provider));
        D.UseLoggerFactory(factory);

        int failures = D.SinkFailures;
        TestSites.DropFrame(D, s_sites, new FakeSourceTask());
        TaskLeakReport report = D.DetectNow();

        Assert.That(provider.Collector.GetSnapshot().Select(r => r.Id.Id), Does.Contain(1), report + " failures " + (D.SinkFailures - failures));
        FakeLogRecord record = provider.Collector.GetSnapshot().Single(r => r.Id.Id == 1);
        Assert.That(record.Id.Name, Is.EqualTo("TaskLeaked"));
        Assert.That(record.Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(record.Category, Is.EqualTo("TaskLeak"));
        Assert.That(record.GetStructuredStateValue("Method"), Is.EqualTo(TestSites.Method("Sink", 0)));
        Assert.That(record.GetStructuredStateValue("AwaitSite"), Is.EqualTo("Sink.cs:1"));
        Assert.That(record.GetStructuredStateValue("WaitTarget"), Is.EqualTo("TaskCompletionSource<int>.Task (FakeSourceTask)"));
        Assert.That(record.GetStructuredStateValue("Count"), Is.EqualTo("1"));
        Assert.That(long.Parse(record.GetStructuredStateValue("AgeMs")!, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0));
        Assert.That(record.GetStructuredStateValue("Chain"), Is.EqualTo("Tests.Sink0.Run (Sink.cs:1)"));
        Assert.That(record.GetStructuredStateValue("CreationStack"), Is.Not.Null.And.Not.Empty);
    }

    [Test]
    public void The_logger_gets_event_2_for_stalled_operations_once_and_event_3_for_a_growing_site()
    {
        using var provider = new FakeLoggerProvider();
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(provider));
        D.UseLoggerFactory(factory);
        D.Configure(o =>
        {
            o.StalledThreshold = TimeSpan.FromMilliseconds(1);
            o.GrowingSiteSweeps = 2;
            o.GrowingSiteMinimumIncrease = 2;
        });
        var held = new List<HeldOperations>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                held.Add(new HeldOperations(D, s_sites + 1, 2));
                Thread.Sleep(5);
                D.DetectNow();
            }

            FakeLogRecord[] records = provider.Collector.GetSnapshot().Where(r => r.GetStructuredStateValue("Method") == TestSites.Method("Sink", 1)).ToArray();
            Assert.That(records.Where(r => r.Id.Id == 1), Is.Empty, "reachable operations are never logged as leaks");

            FakeLogRecord[] stalled = records.Where(r => r.Id.Id == 2).ToArray();
            Assert.That(stalled, Is.Not.Empty);
            Assert.That(stalled.Select(r => int.Parse(r.GetStructuredStateValue("Count")!, System.Globalization.CultureInfo.InvariantCulture)),
                Is.Ordered.Ascending.And.Unique, "re-reported only when the count grows");
            FakeLogRecord first = stalled[0];
            Assert.That(first.Id.Name, Is.EqualTo("OperationStalled"));
            Assert.That(first.Level, Is.EqualTo(LogLevel.Warning));
            Assert.That(first.Message, Does.Contain("suspected \u2014 still reachable"));
            Assert.That(first.GetStructuredStateValue("AwaitSite"), Is.EqualTo("Sink.cs:2"));
            Assert.That(first.GetStructuredStateValue("WaitTarget"), Is.EqualTo("TaskCompletionSource<int>.Task"));
            Assert.That(first.GetStructuredStateValue("ThresholdMs"), Is.EqualTo("1"));
            Assert.That(first.GetStructuredStateValue("OldestAgeMs"), Is.Not.Null);

            FakeLogRecord growing = records.Single(r => r.Id.Id == 3);
            Assert.That(growing.Id.Name, Is.EqualTo("GrowingSite"));
            Assert.That(growing.Level, Is.EqualTo(LogLevel.Information));
            Assert.That(growing.GetStructuredStateValue("AwaitSite"), Is.EqualTo("Sink.cs:2"));
            // Waves are registered whole (HeldOperations), so the streak's second rise is at 4 live operations at the least.
            Assert.That(int.Parse(growing.GetStructuredStateValue("Count")!, System.Globalization.CultureInfo.InvariantCulture), Is.InRange(4, 8));
            Assert.That(int.Parse(growing.GetStructuredStateValue("Increase")!, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(2));
            Assert.That(int.Parse(growing.GetStructuredStateValue("Sweeps")!, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(2));
        }
        finally
        {
            held.ForEach(h => h.Complete());
        }
    }

    [Test]
    public void The_event_source_writes_events_and_counters()
    {
        using var listener = new TaskLeakListener();
        // The counters observe the process's default detector (what woven code reports to), so this test uses it.
        Detector d = Detector.Default;
        int sites = TestSites.Register(d, "SinkEvents", 3);
        TestSites.DropFrame(d, sites + 2);
        d.DetectNow();

        EventWrittenEventArgs leaked = listener.Events.First(e => e.EventId == 1 && (string?)e.Payload![0] == TestSites.Method("SinkEvents", 2));
        Assert.That(leaked.EventSource.Name, Is.EqualTo("TaskLeak"));
        Assert.That(leaked.EventName, Is.EqualTo("TaskLeaked"));
        Assert.That(leaked.PayloadNames, Is.EqualTo(new[] { "Method", "AwaitSite", "WaitTarget", "Count", "AgeMs", "Chain" }));
        Assert.That(leaked.Payload![1], Is.EqualTo("SinkEvents.cs:3"));
        Assert.That(leaked.Payload[3], Is.EqualTo(1));

        bool counted = SpinWait.SpinUntil(
            () => listener.Counter("leaked-total") >= 1 && listener.Counter("pending") is not null, TimeSpan.FromSeconds(30));
        Assert.That(counted, "counters pending and leaked-total were published");
    }

    [Test]
    public void The_meter_counts_leaks_by_site_and_observes_pending()
    {
        var leaked = new ConcurrentQueue<(long Value, KeyValuePair<string, object?>[] Tags)>();
        var pending = new ConcurrentQueue<int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "TaskLeak")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "taskleak.leaked")
            {
                leaked.Enqueue((value, tags.ToArray()));
            }
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) =>
        {
            if (instrument.Name == "taskleak.pending")
            {
                pending.Enqueue(value);
            }
        });
        listener.Start();

        // The pending gauge observes the process's default detector (what woven code reports to), so this test uses it.
        Detector d = Detector.Default;
        int sites = TestSites.Register(d, "SinkMeter", 3);
        var held = new HeldOperations(d, sites + 1, 2);
        TestSites.DropFrame(d, sites + 2);
        TestSites.DropFrame(d, sites + 2);
        d.DetectNow();
        listener.RecordObservableInstruments();

        (long value, KeyValuePair<string, object?>[] tags) = leaked.Single(m => m.Tags.Any(t => t.Key == "taskleak.method" && (string?)t.Value == TestSites.Method("SinkMeter", 2)));
        Assert.That(value, Is.EqualTo(2));
        Assert.That(tags.Single(t => t.Key == "taskleak.await_site").Value, Is.EqualTo("SinkMeter.cs:3"));
        Assert.That(pending, Has.Some.GreaterThanOrEqualTo(2));
        held.Complete();
    }

    [Test]
    public void Throwing_sinks_are_contained_and_counted_and_the_others_still_run()
    {
        int before = D.SinkFailures;
        var delivered = new List<TaskLeakGroup>();
        EventHandler<TaskLeakDetectedEventArgs> throwing = (_, _) => throw new InvalidOperationException("handler");
        EventHandler<TaskLeakDetectedEventArgs> good = (_, e) => { lock (delivered) { delivered.AddRange(e.Leaks); } };
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(new ThrowingLoggerProvider()));
        D.UseLoggerFactory(factory);
        D.LeakDetected += throwing;
        D.LeakDetected += good;
        using var meter = new MeterListener();
        meter.InstrumentPublished = (i, l) => { if (i.Meter.Name == "TaskLeak") { l.EnableMeasurementEvents(i); } };
        meter.SetMeasurementEventCallback<long>((_, _, _, _) => throw new InvalidOperationException("meter"));
        meter.Start();
        try
        {
            TestSites.DropFrame(D, s_sites);
            TaskLeakReport report = D.DetectNow();

            Assert.That(report.Leaks.Single().Count, Is.EqualTo(1));
            Assert.That(D.SinkFailures - before, Is.GreaterThanOrEqualTo(3), "logger, handler and meter each failed once");
            lock (delivered)
            {
                Assert.That(delivered.Select(g => g.Method), Does.Contain(TestSites.Method("Sink", 0)));
            }
        }
        finally
        {
            D.LeakDetected -= throwing;
            D.LeakDetected -= good;
        }
    }

    private sealed class TaskLeakListener : EventListener
    {
        internal readonly ConcurrentQueue<EventWrittenEventArgs> Events = new();
        private readonly ConcurrentDictionary<string, double> _counters = new();

        internal double? Counter(string name) => _counters.TryGetValue(name, out double value) ? value : null;

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "TaskLeak")
            {
                EnableEvents(source, EventLevel.Verbose, EventKeywords.All, new Dictionary<string, string?> { ["EventCounterIntervalSec"] = "0.1" });
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventSource.Name != "TaskLeak")
            {
                return;
            }

            if (e.EventName == "EventCounters" && e.Payload?[0] is IDictionary<string, object?> counter)
            {
                _counters[(string)counter["Name"]!] = Convert.ToDouble(counter["Mean"], System.Globalization.CultureInfo.InvariantCulture);
                return;
            }

            Events.Enqueue(e);
        }
    }

    private sealed class ThrowingLoggerProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ThrowingLogger();

        public void Dispose()
        {
        }

        private sealed class ThrowingLogger : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                throw new InvalidOperationException("logger");
        }
    }
}
