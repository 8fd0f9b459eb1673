using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;

[assembly: DoNotParallelize]

namespace TaskLeak.MSTest.Tests;

/// <summary>
/// The meta-test: TaskLeak.MSTest.Samples contains planted leaks, so some of its tests must fail. It runs once, with
/// method-level parallelism; these tests assert each outcome and what each failure message says.
/// </summary>
[TestClass]
public class SampleOutcomes
{
    private static readonly string[] s_failing =
    {
        "Leaks_directly",
        "Leaks_in_work_it_spawned_after_an_await",
        "Leaks_a_chain",
        "Leaks_only_in_one_case (True)",
        "Fails_on_its_own_and_leaks",
        "Leak_outside_the_ignore_lists_fails",
        "Nearest_attribute_fails_it",
        "Operation_still_suspended_at_the_end_fails",
        "NoLeaks_fails_on_a_leak",
        "NoPendingOperations_fails_on_a_pending_operation",
    };

    private const string LeakHeader = "TaskLeak: 1 async operation started by this test leaked: the garbage collector reclaimed the "
        + "suspended frame, so it can never resume and its finally blocks never run.\n";

    // A failure at [GlobalTestCleanup] is reported by MSTest with this prefix; the report follows it unchanged.
    private const string CleanupPrefix = "TestCleanup method TaskLeak.MSTest.Samples.Hooks.CheckLeaks threw exception. "
        + "Microsoft.VisualStudio.TestTools.UnitTesting.AssertFailedException: ";

    private static SampleRun Run => SampleRun.Instance;

    [TestMethod]
    public void Exactly_the_leaking_tests_fail() =>
        CollectionAssert.AreEquivalent(s_failing, Run.Results.Where(r => r.Value.Outcome == "Failed").Select(r => r.Key).ToArray(),
            string.Join("\n", Run.Results.Select(r => r.Key + ": " + r.Value.Outcome)));

    [TestMethod]
    public void Every_other_sample_passes_and_the_warned_one_carries_the_report()
    {
        Assert.AreEqual(20, Run.Results.Count);
        CollectionAssert.AreEquivalent(Run.Results.Keys.Except(s_failing).ToArray(),
            Run.Results.Where(r => r.Value.Outcome == "Passed").Select(r => r.Key).ToArray());
        string output = Run["Leak_warns"].Output;
        StringAssert.Contains(output, "Warning: " + LeakHeader);
        StringAssert.Contains(output, "1 \u00d7 TaskLeak.MSTest.Samples.Operations.WarnedAsync at Operations.cs:" + SampleRun.AwaitLine("WarnedAsync"));
    }

    [TestMethod]
    public void Parallel_siblings_ran_together_and_only_the_leakers_are_blamed()
    {
        // The siblings wait for each other at a barrier, so the clean one passing means the three ran at once; it
        // stayed open until both leaks were proven, and was not blamed for them.
        Assert.AreEqual("Passed", Run["Completes_its_work_while_siblings_leak"].Outcome);
        string direct = AssertLeakReport("Leaks_directly", "DirectAsync", "ParallelSiblings.Leaks_directly()");
        string spawned = AssertLeakReport("Leaks_in_work_it_spawned_after_an_await", "SpawnedAsync",
            "ParallelSiblings.<>c.<Leaks_in_work_it_spawned_after_an_await>");
        Assert.DoesNotContain("SpawnedAsync", direct);
        Assert.DoesNotContain("DirectAsync", spawned);
    }

    [TestMethod]
    public void The_message_is_the_shared_report_with_its_await_line_and_chain()
    {
        string message = AssertLeakReport("Leaks_a_chain", "InnerAsync", "Verdicts.Leaks_a_chain()");
        StringAssert.Contains(message,
            "chain       TaskLeak.MSTest.Samples.Operations.InnerAsync (Operations.cs:" + SampleRun.AwaitLine("InnerAsync") + ")"
            + " \u2190 awaited by TaskLeak.MSTest.Samples.Operations.MiddleAsync (Operations.cs:" + SampleRun.AwaitLine("MiddleAsync") + ")"
            + " \u2190 awaited by TaskLeak.MSTest.Samples.Operations.OuterAsync (Operations.cs:" + SampleRun.AwaitLine("OuterAsync") + ")");
    }

    [TestMethod]
    public void A_data_row_fails_only_in_the_case_that_leaked()
    {
        AssertLeakReport("Leaks_only_in_one_case (True)", "CaseAsync", "Verdicts.Leaks_only_in_one_case(Boolean leak)");
        Assert.AreEqual("Passed", Run["Leaks_only_in_one_case (False)"].Outcome);
    }

    [TestMethod]
    public void A_test_that_fails_and_leaks_reports_both()
    {
        string message = Run["Fails_on_its_own_and_leaks"].Message;
        StringAssert.Contains(message, "it fails on its own");
        StringAssert.Contains(message, LeakHeader);
        StringAssert.Contains(message, "1 \u00d7 TaskLeak.MSTest.Samples.Operations.FailingAsync at Operations.cs:" + SampleRun.AwaitLine("FailingAsync"));
    }

    [TestMethod]
    public void Ignore_lists_and_the_nearest_attribute_apply()
    {
        string message = AssertLeakReport("Leak_outside_the_ignore_lists_fails", "WarnedAsync", "Ignores.Leak_outside_the_ignore_lists_fails()", sharedSite: true);
        Assert.DoesNotContain("IgnoredByMethodAsync", message);
        AssertLeakReport("Nearest_attribute_fails_it", "NearestAsync", "Actions.Nearest_attribute_fails_it()");
    }

    [TestMethod]
    public void Stalled_and_explicit_checks_report_what_the_test_started()
    {
        string stalled = Run["Operation_still_suspended_at_the_end_fails"].Message;
        Assert.StartsWith(CleanupPrefix + "TaskLeak: 1 async operation started by this test is still suspended at its end", stalled);
        StringAssert.Contains(stalled, "1 \u00d7 TaskLeak.MSTest.Samples.Operations.ParkedAsync at Operations.cs:" + SampleRun.AwaitLine("ParkedAsync"));
        Assert.DoesNotContain("leaked", stalled);
        // An explicit assertion fails inside the test: the message is the report alone.
        AssertLeakReport("NoLeaks_fails_on_a_leak", "AssertedAsync", "Explicit.NoLeaks_fails_on_a_leak()", prefix: "");
        Assert.StartsWith("TaskLeak: 1 async operation started by this test is still suspended at its end",
            Run["NoPendingOperations_fails_on_a_pending_operation"].Message);
    }

    [TestMethod]
    public void Setup_leaks_belong_to_no_test_but_reach_the_run_report()
    {
        Assert.AreEqual("Passed", Run["Setup_leaks_are_not_blamed_on_the_test"].Outcome);
        Assert.IsFalse(Run.Results.Values.Any(r => r.Message.Contains("BeforeTestAsync") || r.Message.Contains("PrecedingAsync")));

        // [AssemblyCleanup]'s messages join the last test's output.
        Assert.IsTrue(Run.Results.Values.Any(r => r.Output.Contains(
            "TaskLeak run report for TaskLeak.MSTest.Samples: 20 test(s) checked, 10 failed for leaks, 1 warned; ", StringComparison.Ordinal)));
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Run.ReportFile));
        Assert.AreEqual(20, json.RootElement.GetProperty("testsChecked").GetInt32());
        Assert.AreEqual(10, json.RootElement.GetProperty("testsFailedForLeaks").GetInt32());
        string[] methods = json.RootElement.GetProperty("report").GetProperty("leaks").EnumerateArray()
            .Select(l => l.GetProperty("method").GetString()!).ToArray();
        CollectionAssert.Contains(methods, "TaskLeak.MSTest.Samples.Operations.BeforeTestAsync");
        CollectionAssert.Contains(methods, "TaskLeak.MSTest.Samples.Operations.PrecedingAsync");
        CollectionAssert.Contains(methods, "TaskLeak.MSTest.Samples.Operations.DirectAsync");
    }

    /// <summary>Asserts the report of a test that leaked once at <paramref name="method"/>'s await; returns the message.</summary>
    private static string AssertLeakReport(string test, string method, string creationFrame, bool sharedSite = false, string prefix = CleanupPrefix)
    {
        SampleRun.Result result = Run[test];
        string message = result.Message;
        Assert.AreEqual("Failed", result.Outcome, test);
        Assert.StartsWith(prefix + LeakHeader, message, test);
        int line = SampleRun.AwaitLine(method);
        StringAssert.Contains(message, "1 \u00d7 TaskLeak.MSTest.Samples.Operations." + method + " at Operations.cs:" + line + "\n");
        StringAssert.Contains(message, "waiting on  TaskCompletionSource<int>.Task (Task<int>)");
        StringAssert.Contains(message, "chain       TaskLeak.MSTest.Samples.Operations." + method + " (Operations.cs:" + line + ")");
        string frame = "at TaskLeak.MSTest.Samples." + creationFrame;
        if (!sharedSite || message.Contains(frame, StringComparison.Ordinal))
        {
            StringAssert.Contains(message, frame);
            Assert.DoesNotContain("an example", message);
        }
        else
        {
            StringAssert.Contains(message, "created at  (an example from another operation at this site)");
        }

        Assert.DoesNotContain("at Microsoft.VisualStudio.TestPlatform", message);
        return message;
    }
}
