using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using NUnit.Framework;
using TaskLeak.CompilerServices;
using TaskLeak.Configuration;
using TaskLeak.Tracking;

namespace TaskLeak.Tests;

/// <summary>Startup settings: environment over AppContext over defaults; code over both; the kill switch; sampling.</summary>
public class ConfigurationTests : DetectorTest
{
    private int? _s_site;

    private int s_site => _s_site ??= TestSites.Register(D, "Config", 2);



    [Test]
    public void With_no_source_set_the_defaults_apply()
    {
        TaskLeakOptions options = Read(new(), new(), new());

        Assert.That(options.Enabled, Is.True);
        Assert.That(options.SampleRate, Is.EqualTo(1));
        Assert.That(options.CreationStacks, Is.EqualTo(CreationStackMode.Sampled));
        Assert.That(options.CreationStacksPerSite, Is.EqualTo(8));
        Assert.That(options.CreationStackSampleRate, Is.EqualTo(65536));
        Assert.That(options.StalledThreshold, Is.Null);
        Assert.That(options.GrowingSiteSweeps, Is.EqualTo(5));
        Assert.That(options.GrowingSiteMinimumIncrease, Is.EqualTo(100));
        Assert.That(options.ReportOnProcessExit, Is.False);
    }

    [Test]
    public void AppContext_values_apply_as_runtimeconfig_delivers_them()
    {
        // runtimeconfig.json configProperties reach AppContext.GetData as strings.
        var data = new Dictionary<string, object?>
        {
            ["TaskLeak.Enabled"] = "false",
            ["TaskLeak.SampleRate"] = "64",
            ["TaskLeak.CreationStacks"] = "All",
            ["TaskLeak.CreationStacksPerSite"] = "2",
            ["TaskLeak.CreationStackSampleRate"] = "16",
            ["TaskLeak.StalledThresholdMs"] = "30000",
            ["TaskLeak.GrowingSiteSweeps"] = "0",
            ["TaskLeak.GrowingSiteMinimumIncrease"] = "7",
            ["TaskLeak.ReportOnProcessExit"] = "true",
        };

        TaskLeakOptions options = Read(new(), data, new());

        Assert.That(options.Enabled, Is.False);
        Assert.That(options.SampleRate, Is.EqualTo(64));
        Assert.That(options.CreationStacks, Is.EqualTo(CreationStackMode.All));
        Assert.That(options.CreationStacksPerSite, Is.EqualTo(2));
        Assert.That(options.CreationStackSampleRate, Is.EqualTo(16));
        Assert.That(options.StalledThreshold, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(options.GrowingSiteSweeps, Is.Zero);
        Assert.That(options.GrowingSiteMinimumIncrease, Is.EqualTo(7));
        Assert.That(options.ReportOnProcessExit, Is.True);
    }

    [Test]
    public void Environment_variables_override_AppContext()
    {
        var env = new Dictionary<string, string?>
        {
            ["TASKLEAK_ENABLED"] = "1",
            ["TASKLEAK_SAMPLE_RATE"] = "8",
            ["TASKLEAK_CREATION_STACKS"] = "none",
            ["TASKLEAK_REPORT_ON_EXIT"] = "off",
        };
        var data = new Dictionary<string, object?> { ["TaskLeak.SampleRate"] = "64", ["TaskLeak.CreationStacks"] = "All", ["TaskLeak.ReportOnProcessExit"] = "true" };
        var switches = new Dictionary<string, bool> { ["TaskLeak.Enabled"] = false };

        TaskLeakOptions options = Read(env, data, switches);

        Assert.That(options.Enabled, Is.True);
        Assert.That(options.SampleRate, Is.EqualTo(8));
        Assert.That(options.CreationStacks, Is.EqualTo(CreationStackMode.None));
        Assert.That(options.ReportOnProcessExit, Is.False);
    }

    [Test]
    public void An_invalid_value_is_ignored_with_a_message_and_the_next_source_applies()
    {
        var env = new Dictionary<string, string?> { ["TASKLEAK_SAMPLE_RATE"] = "often", ["TASKLEAK_ENABLED"] = "maybe" };
        var data = new Dictionary<string, object?> { ["TaskLeak.SampleRate"] = "32", ["TaskLeak.CreationStacks"] = "Some" };

        TaskLeakOptions options = Read(env, data, new());

        Assert.That(options.SampleRate, Is.EqualTo(32));
        Assert.That(options.Enabled, Is.True);
        Assert.That(options.CreationStacks, Is.EqualTo(CreationStackMode.Sampled));
        Assert.That(TaskLeakDetector.ConfigurationErrors, Has.Some.EqualTo("TASKLEAK_SAMPLE_RATE=often is not a whole number >= 1; ignored."));
        Assert.That(TaskLeakDetector.ConfigurationErrors, Has.Some.StartsWith("TASKLEAK_ENABLED=maybe is not a boolean"));
        Assert.That(TaskLeakDetector.ConfigurationErrors, Has.Some.EqualTo("TaskLeak.CreationStacks=Some is not None, Sampled or All; ignored."));
    }

    [Test]
    [NonParallelizable] // Sets process-wide AppContext switches: the default detector reads them when it first starts.
    public void The_process_reader_sees_AppContext_switches_and_data_set_in_process()
    {
        Assume.That(Environment.GetEnvironmentVariable("TASKLEAK_SAMPLE_RATE"), Is.Null);
        Assume.That(Environment.GetEnvironmentVariable("TASKLEAK_REPORT_ON_EXIT"), Is.Null);
        AppContext.SetSwitch("TaskLeak.ReportOnProcessExit", true);
        AppContext.SetData("TaskLeak.SampleRate", "16");
        try
        {
            TaskLeakOptions options = TaskLeakConfiguration.ReadFromProcess();

            Assert.That(options.ReportOnProcessExit, Is.True);
            Assert.That(options.SampleRate, Is.EqualTo(16));
        }
        finally
        {
            AppContext.SetSwitch("TaskLeak.ReportOnProcessExit", false);
            AppContext.SetData("TaskLeak.SampleRate", null);
        }
    }

    [Test]
    public void Code_wins_for_what_it_sets_and_keeps_the_rest()
    {
        TaskLeakOptions before = D.Options;
        D.Configure(o => o.SampleRate = 3);

        TaskLeakOptions after = D.Options;
        Assert.That(after.SampleRate, Is.EqualTo(3));
        Assert.That(after.CreationStacks, Is.EqualTo(before.CreationStacks));
        Assert.That(after.Enabled, Is.EqualTo(before.Enabled));
        Assert.That(D.Policy.SampleRate, Is.EqualTo(3));
    }

    [Test]
    public void The_kill_switch_turns_every_hook_off_and_lets_tracked_operations_finish()
    {
        var frame = new object();
        int tracked = 0;
        H.SuspendFrame(ref tracked, s_site, null, frame);
        int pending = D.PendingCount;
        D.Configure(o => o.Enabled = false);
        try
        {
            int operation = 0;
            Assert.That(H.Suspend(ref operation, s_site, null), Is.Zero);
            H.SuspendFrame(ref operation, s_site, null, new object());
            object? token = null;
            H.SuspendWithToken(ref operation, ref token, s_site, null);
            Assert.That(operation, Is.Zero);
            Assert.That(token, Is.Null, "no token is even allocated");
            Tracking.OperationTracker.ExitSpawn(H.EnterSpawn(s_site));
            Assert.That(D.PendingCount, Is.EqualTo(pending));

            H.Complete(ref tracked);
            Assert.That(D.PendingCount, Is.EqualTo(pending - 1));
        }
        finally
        {
            D.Configure(o => o.Enabled = true);
            GC.KeepAlive(frame);
        }
    }

    [Test]
    public void Production_sampling_tracks_one_first_suspension_in_N_per_thread()
    {
        D.Configure(o => o.SampleRate = 4);
        int tracked = 0;
        var frames = new object[400];
        var thread = new Thread(() =>
        {
            for (int i = 0; i < frames.Length; i++)
            {
                frames[i] = new object();
                int operation = 0;
                H.SuspendFrame(ref operation, s_site + 1, null, frames[i]);
                if (operation != 0)
                {
                    tracked++;
                    H.Complete(ref operation);
                }
            }
        });
        thread.Start();
        thread.Join();

        Assert.That(tracked, Is.EqualTo(100));
    }

    [Test]
    public void An_operation_that_sampling_skips_allocates_no_token()
    {
        D.Configure(o => o.SampleRate = 4);
        int site = s_site + 1;
        int tracked = 0, tokens = 0;
        var thread = new Thread(() =>
        {
            for (int i = 0; i < 400; i++)
            {
                int operation = 0;
                object? token = null;
                H.SuspendWithToken(ref operation, ref token, site, null);
                tokens += token is null ? 0 : 1;
                if (operation != 0)
                {
                    tracked++;
                    H.Complete(ref operation);
                }

                GC.KeepAlive(token);
            }
        });
        thread.Start();
        thread.Join();

        Assert.That(tracked, Is.EqualTo(100));
        Assert.That(tokens, Is.EqualTo(100), "a token only for each tracked operation");
    }

    [Test]
    public void Sampled_stacks_take_each_sites_first_few_then_one_in_N()
    {
        int site = TestSites.Register(D, "Stacks", 1);
        D.Configure(o =>
        {
            o.CreationStacks = CreationStackMode.Sampled;
            o.CreationStacksPerSite = 2;
            o.CreationStackSampleRate = 3;
        });
        var captured = new List<bool>();
        var thread = new Thread(() =>
        {
            for (int i = 0; i < 11; i++)
            {
                var frame = new object();
                int operation = 0;
                H.SuspendFrame(ref operation, site, null, frame);
                captured.Add(D.Registry.At(operation - 1).CreationStack is not null);
                H.Complete(ref operation);
            }
        });
        thread.Start();
        thread.Join();

        Assert.That(captured, Is.EqualTo(new[] { true, true, true, false, false, true, false, false, true, false, false }));
    }

    [Test]
    public void A_leak_reported_without_a_stack_makes_its_site_capture_stacks_again()
    {
        int site = TestSites.Register(D, "Rearm", 1);
        D.Configure(o =>
        {
            o.CreationStacks = CreationStackMode.Sampled;
            o.CreationStacksPerSite = 1;
            o.CreationStackSampleRate = int.MaxValue;
        });
        string? stackless = "not run", again = null;
        var thread = new Thread(() =>
        {
            // The site's one initial stack, and this new thread's first sampled one, go to operations that complete.
            for (int i = 0; i < 2; i++)
            {
                var frame = new object();
                int completed = 0;
                H.SuspendFrame(ref completed, site, null, frame);
                H.Complete(ref completed);
                GC.KeepAlive(frame);
            }

            TestSites.DropFrame(D, site);
            stackless = D.DetectNow().Leaks.Single(g => g.Method == TestSites.Method("Rearm", 0)).CreationStack;
            TestSites.DropFrame(D, site);
            again = D.DetectNow().Leaks.Single(g => g.Method == TestSites.Method("Rearm", 0)).CreationStack;
        });
        thread.Start();
        thread.Join();

        Assert.That(stackless, Is.Null, "the first leak had no stack");
        Assert.That(again, Does.Contain(nameof(TestSites.DropFrame)), "its report re-armed the site: the next leak brought one");
    }

    [Test]
    public void No_stacks_mode_captures_none()
    {
        D.Configure(o => o.CreationStacks = CreationStackMode.None);
        var frame = new object();
        int operation = 0;
        H.SuspendFrame(ref operation, TestSites.Register(D, "NoStacks", 1), null, frame);

        Assert.That(D.Registry.At(operation - 1).CreationStack, Is.Null);
        H.Complete(ref operation);
        GC.KeepAlive(frame);
    }

    private static TaskLeakOptions Read(Dictionary<string, string?> env, Dictionary<string, object?> data, Dictionary<string, bool> switches) =>
        TaskLeakConfiguration.Read(
            name => env.TryGetValue(name, out string? value) ? value : null,
            name => data.TryGetValue(name, out object? value) ? value : null,
            name => switches.TryGetValue(name, out bool value) ? value : null);
}
