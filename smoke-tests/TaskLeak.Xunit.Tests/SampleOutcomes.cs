using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace TaskLeak.Xunit.Tests;

/// <summary>
/// The meta-test: TaskLeak.Xunit.Samples contains planted leaks, so some of its tests must fail. It runs once, with up
/// to four parallel collections; these tests assert each outcome and what each failure message says.
/// </summary>
public class SampleOutcomes
{
    private static readonly string[] s_failing =
    {
        "ParallelSiblings+LeaksDirectly.Leaks_directly",
        "ParallelSiblings+LeaksInSpawnedWork.Leaks_in_work_it_spawned_after_an_await",
        "Verdicts.Leaks_a_chain",
        "Verdicts.Leaks_only_in_one_case(leak: True)",
        "Verdicts.Fails_on_its_own_and_leaks",
        "Ignores.Leak_outside_the_ignore_lists_fails",
        "Actions.Nearest_attribute_fails_it",
        "Stalled.Operation_still_suspended_at_the_end_fails",
        "Explicit.NoLeaks_fails_on_a_leak",
        "Explicit.NoPendingOperations_fails_on_a_pending_operation",
    };

    private static readonly string[] s_warned = { "Actions.Leak_warns" };

    private const string LeakHeader = "TaskLeak: 1 async operation started by this test leaked: the garbage collector reclaimed the "
        + "suspended frame, so it can never resume and its finally blocks never run.\n";

    private static SampleRun Run => SampleRun.Instance;

    [Fact]
    public void Exactly_the_leaking_tests_fail() =>
        Assert.Equal(s_failing.Order(), Run.Results.Where(r => r.Value.Outcome == "Fail").Select(r => r.Key).Order());

    [Fact]
    public void Every_other_sample_passes_and_only_the_warned_one_warns()
    {
        Assert.Equal(21, Run.Results.Count);
        Assert.Equal(Run.Results.Keys.Except(s_failing).Order(), Run.Results.Where(r => r.Value.Outcome == "Pass").Select(r => r.Key).Order());
        Assert.Equal(s_warned, Run.Results.Where(r => r.Value.Warnings.Length > 0).Select(r => r.Key));
        string warning = Assert.Single(Run["Actions.Leak_warns"].Warnings);
        Assert.StartsWith(LeakHeader, warning);
        Assert.Contains("1 \u00d7 TaskLeak.Xunit.Samples.Operations.WarnedAsync at Operations.cs:" + SampleRun.AwaitLine("WarnedAsync"), warning);
    }

    [Fact]
    public void Parallel_siblings_ran_together_and_only_the_leakers_are_blamed()
    {
        // The siblings wait for each other at a barrier, so the clean one passing means the three ran at once; it stayed
        // open until both leaks were proven, and was not blamed for them.
        Assert.Equal("Pass", Run["ParallelSiblings+CompletesItsWork.Completes_its_work_while_siblings_leak"].Outcome);
        string direct = AssertLeakReport("ParallelSiblings+LeaksDirectly.Leaks_directly", "DirectAsync", "ParallelSiblings.LeaksDirectly.Leaks_directly()");
        string spawned = AssertLeakReport("ParallelSiblings+LeaksInSpawnedWork.Leaks_in_work_it_spawned_after_an_await", "SpawnedAsync",
            "ParallelSiblings.LeaksInSpawnedWork.<>c.<Leaks_in_work_it_spawned_after_an_await>");
        Assert.DoesNotContain("SpawnedAsync", direct);
        Assert.DoesNotContain("DirectAsync", spawned);
    }

    [Fact]
    public void The_message_is_the_shared_report_with_its_await_line_and_chain()
    {
        string message = AssertLeakReport("Verdicts.Leaks_a_chain", "InnerAsync", "Verdicts.Leaks_a_chain()");
        Assert.Contains(
            "chain       TaskLeak.Xunit.Samples.Operations.InnerAsync (Operations.cs:" + SampleRun.AwaitLine("InnerAsync") + ")"
            + " \u2190 awaited by TaskLeak.Xunit.Samples.Operations.MiddleAsync (Operations.cs:" + SampleRun.AwaitLine("MiddleAsync") + ")"
            + " \u2190 awaited by TaskLeak.Xunit.Samples.Operations.OuterAsync (Operations.cs:" + SampleRun.AwaitLine("OuterAsync") + ")", message);
    }

    [Fact]
    public void A_theory_fails_only_in_the_case_that_leaked()
    {
        AssertLeakReport("Verdicts.Leaks_only_in_one_case(leak: True)", "CaseAsync", "Verdicts.Leaks_only_in_one_case(Boolean leak)");
        Assert.Equal("Pass", Run["Verdicts.Leaks_only_in_one_case(leak: False)"].Outcome);
    }

    [Fact]
    public void A_test_that_fails_and_leaks_reports_both()
    {
        string message = Run["Verdicts.Fails_on_its_own_and_leaks"].Message;
        Assert.Contains("Assert.Equal() Failure", message);
        Assert.Contains(LeakHeader, message);
        Assert.Contains("1 \u00d7 TaskLeak.Xunit.Samples.Operations.FailingAsync at Operations.cs:" + SampleRun.AwaitLine("FailingAsync"), message);
    }

    [Fact]
    public void Ignore_lists_and_the_nearest_attribute_apply()
    {
        string message = AssertLeakReport("Ignores.Leak_outside_the_ignore_lists_fails", "WarnedAsync", "Ignores.Leak_outside_the_ignore_lists_fails()", sharedSite: true);
        Assert.DoesNotContain("IgnoredByMethodAsync", message);
        AssertLeakReport("Actions.Nearest_attribute_fails_it", "NearestAsync", "Actions.Nearest_attribute_fails_it()");
    }

    [Fact]
    public void Stalled_and_explicit_checks_report_what_the_test_started()
    {
        string stalled = Run["Stalled.Operation_still_suspended_at_the_end_fails"].Message;
        Assert.StartsWith("TaskLeak: 1 async operation started by this test is still suspended at its end", stalled);
        Assert.Contains("1 \u00d7 TaskLeak.Xunit.Samples.Operations.ParkedAsync at Operations.cs:" + SampleRun.AwaitLine("ParkedAsync"), stalled);
        Assert.DoesNotContain("leaked", stalled);
        AssertLeakReport("Explicit.NoLeaks_fails_on_a_leak", "AssertedAsync", "Explicit.NoLeaks_fails_on_a_leak()");
        Assert.StartsWith("TaskLeak: 1 async operation started by this test is still suspended at its end",
            Run["Explicit.NoPendingOperations_fails_on_a_pending_operation"].Message);
    }

    [Fact]
    public void Leaks_of_class_and_assembly_fixtures_belong_to_no_test_but_reach_the_run_report()
    {
        Assert.Equal("Pass", Run["WorkStartedBeforeTheTest.Fixture_leaks_are_not_blamed_on_the_test"].Outcome);
        Assert.Equal("Pass", Run["WorkStartedBeforeTheTest.The_test_context_names_this_test"].Outcome);
        Assert.DoesNotContain(Run.Results.Values, r => r.Message.Contains("BeforeTestAsync") || r.Message.Contains("PrecedingAsync"));

        Assert.Contains("TaskLeak run report for TaskLeak.Xunit.Samples: 21 test(s) checked, 10 failed for leaks, 1 warned; ", Run.Output);
        Assert.Contains("TaskLeak run report written to " + Run.ReportFile, Run.Output);
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Run.ReportFile));
        Assert.Equal(21, json.RootElement.GetProperty("testsChecked").GetInt32());
        Assert.Equal(10, json.RootElement.GetProperty("testsFailedForLeaks").GetInt32());
        string[] methods = json.RootElement.GetProperty("report").GetProperty("leaks").EnumerateArray()
            .Select(l => l.GetProperty("method").GetString()!).ToArray();
        Assert.Contains("TaskLeak.Xunit.Samples.Operations.BeforeTestAsync", methods);
        Assert.Contains("TaskLeak.Xunit.Samples.Operations.PrecedingAsync", methods);
        Assert.Contains("TaskLeak.Xunit.Samples.Operations.DirectAsync", methods);
    }

    /// <summary>Asserts the report of a test that leaked once at <paramref name="method"/>'s await; returns the message.</summary>
    private static string AssertLeakReport(string test, string method, string creationFrame, bool sharedSite = false)
    {
        SampleRun.Result result = Run[test];
        string message = result.Message;
        Assert.True(result.Outcome == "Fail", test + ": " + result.Outcome);
        Assert.StartsWith(LeakHeader, message);
        int line = SampleRun.AwaitLine(method);
        Assert.Contains("1 \u00d7 TaskLeak.Xunit.Samples.Operations." + method + " at Operations.cs:" + line + "\n", message);
        Assert.Contains("waiting on  TaskCompletionSource<int>.Task (Task<int>)", message);
        Assert.Contains("chain       TaskLeak.Xunit.Samples.Operations." + method + " (Operations.cs:" + line + ")", message);
        string frame = "at TaskLeak.Xunit.Samples." + creationFrame;
        if (!sharedSite || message.Contains(frame, StringComparison.Ordinal))
        {
            Assert.Contains(frame, message);
            Assert.DoesNotContain("an example", message);
        }
        else
        {
            Assert.Contains("created at  (an example from another operation at this site)", message);
        }

        Assert.DoesNotContain("at Xunit.", message);
        return message;
    }
}
