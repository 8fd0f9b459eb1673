using System.Linq;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using TaskLeak.NUnit.Samples;

namespace TaskLeak.NUnit.Tests;

/// <summary>
/// The meta-test: TaskLeak.NUnit.Samples contains planted leaks, so some of its tests must fail. It is run once,
/// in-process, with four parallel workers; these tests assert each outcome and what each failure message says.
/// </summary>
[NonParallelizable]
public class SampleOutcomes
{
    private static readonly string[] s_failing =
    {
        "ParallelSiblings.Leaks_directly",
        "ParallelSiblings.Leaks_in_work_it_spawned_after_an_await",
        "Verdicts.Leaks_a_chain",
        "Verdicts.Leaks_only_in_one_case(True)",
        "Verdicts.Fails_on_its_own_and_leaks",
        "Ignores.Leak_outside_the_ignore_lists_fails",
        "Actions.Nearest_attribute_fails_it",
        "Stalled.Operation_still_suspended_at_the_end_fails",
        "Explicit.NoLeaks_fails_on_a_leak",
        "Explicit.NoPendingOperations_fails_on_a_pending_operation",
        "Explicit.NoLeaks_of_an_inner_scope",
        "ProcessWide.Leak_in_work_that_suppressed_flow_fails",
        "ProcessWide.Without_the_starting_point_everything_counts",
    };

    private static readonly string[] s_warning =
    {
        "Actions.Leak_warns",
        "Explicit.NoLeaks_can_warn",
        "Explicit.Leak_warned_by_an_assertion_is_not_failed_again_after_the_test",
    };

    private static SampleRun Run => SampleRun.Instance;

    [Test]
    public void Exactly_the_leaking_tests_fail()
    {
        string[] failed = Run.Results.Where(r => r.Value.ResultState.Status == TestStatus.Failed).Select(r => r.Key).ToArray();
        Assert.That(failed, Is.EquivalentTo(s_failing), Messages());
        Assert.That(Run.Results.Values.Where(r => r.ResultState.Status == TestStatus.Failed).Select(r => r.ResultState.Site),
            Has.All.EqualTo(FailureSite.Test), "leaks fail the test itself, not its fixture");
    }

    [Test]
    public void Exactly_the_warned_tests_warn() =>
        Assert.That(Run.Results.Where(r => r.Value.ResultState.Status == TestStatus.Warning).Select(r => r.Key), Is.EquivalentTo(s_warning),
            Messages());

    [Test]
    public void Every_other_sample_passes()
    {
        string[] passed = Run.Results.Where(r => r.Value.ResultState.Status == TestStatus.Passed).Select(r => r.Key).ToArray();
        string[] expected = Run.Results.Keys.Except(s_failing).Except(s_warning).ToArray();
        Assert.That(Run.Results, Has.Count.EqualTo(33), "every sample ran");
        Assert.That(passed, Is.EquivalentTo(expected), Messages());
    }

    [Test]
    public void Parallel_siblings_ran_together_and_only_the_leakers_are_blamed()
    {
        // The siblings wait for each other at a barrier, so this passing means the three ran at the same time; the
        // clean one stayed open until both leaks were proven, and was not blamed for them.
        Assert.That(Run["ParallelSiblings.Completes_its_work_while_siblings_leak"].ResultState, Is.EqualTo(ResultState.Success));
        AssertLeakReport("ParallelSiblings.Leaks_directly", "DirectAsync", "ParallelSiblings.Leaks_directly()");
        AssertLeakReport("ParallelSiblings.Leaks_in_work_it_spawned_after_an_await", "SpawnedAsync",
            "ParallelSiblings.<>c.<Leaks_in_work_it_spawned_after_an_await>");
        Assert.That(Operations.FinallyRuns, Is.EqualTo(2),
            "DirectAsync's finally ran in the two tests that completed it, never in the one that leaked it");
        Assert.That(Run["ParallelSiblings.Leaks_directly"].Message, Does.Not.Contain("SpawnedAsync"));
        Assert.That(Run["ParallelSiblings.Leaks_in_work_it_spawned_after_an_await"].Message, Does.Not.Contain("DirectAsync"));
    }

    [Test]
    public void A_chain_is_reported_at_its_innermost_await_with_its_awaiters()
    {
        string message = AssertLeakReport("Verdicts.Leaks_a_chain", "InnerAsync", "Verdicts.Leaks_a_chain()", sharedSite: true);
        Assert.That(message, Does.Contain(
            "chain       TaskLeak.NUnit.Samples.Operations.InnerAsync (Operations.cs:" + AwaitLine("InnerAsync") + ")"
            + " \u2190 awaited by TaskLeak.NUnit.Samples.Operations.MiddleAsync (Operations.cs:" + AwaitLine("MiddleAsync") + ")"
            + " \u2190 awaited by TaskLeak.NUnit.Samples.Operations.OuterAsync (Operations.cs:" + AwaitLine("OuterAsync") + ")"));
    }

    [Test]
    public void A_parameterized_test_fails_only_in_the_case_that_leaked()
    {
        AssertLeakReport("Verdicts.Leaks_only_in_one_case(True)", "CaseAsync", "Verdicts.Leaks_only_in_one_case(Boolean leak)");
        Assert.That(Run["Verdicts.Leaks_only_in_one_case(False)"].ResultState, Is.EqualTo(ResultState.Success));
    }

    [Test]
    public void A_test_that_fails_and_leaks_reports_both()
    {
        string message = Run["Verdicts.Fails_on_its_own_and_leaks"].Message!;
        Assert.That(message, Does.StartWith("Multiple failures or warnings in test:"));
        Assert.That(message, Does.Contain("Expected: 3"));
        Assert.That(message, Does.Contain("TaskLeak: 1 async operation started by this test leaked"));
        Assert.That(message, Does.Contain("1 \u00d7 TaskLeak.NUnit.Samples.Operations.FailingAsync at Operations.cs:" + AwaitLine("FailingAsync")));
        Assert.That(message, Does.Contain("at TaskLeak.NUnit.Samples.Verdicts.Fails_on_its_own_and_leaks()"));
    }

    [Test]
    public void A_site_shared_with_other_tests_labels_an_example_stack_that_is_not_the_tests()
    {
        // AssertedAsync leaked in four tests; the ledger keeps one example stack per site, the first it saw.
        string[] tests =
        {
            "Explicit.NoLeaks_fails_on_a_leak", "Explicit.NoLeaks_can_warn",
            "Explicit.Leak_warned_by_an_assertion_is_not_failed_again_after_the_test",
        };
        foreach (string test in tests)
        {
            string message = Run[test].Message!;
            string ownFrame = "at TaskLeak.NUnit.Samples." + test + "()";
            Assert.That(message.Contains(ownFrame, System.StringComparison.Ordinal)
                ? !message.Contains("an example", System.StringComparison.Ordinal)
                : message.Contains("created at  (an example from another operation at this site)", System.StringComparison.Ordinal),
                test + ": an example stack is either the test's own or labelled\n" + message);
        }
    }

    [Test]
    public void Ignore_lists_leave_out_methods_sites_and_chains_but_nothing_else()
    {
        string message = AssertLeakReport("Ignores.Leak_outside_the_ignore_lists_fails", "WarnedAsync",
            "Ignores.Leak_outside_the_ignore_lists_fails()", sharedSite: true);
        Assert.That(message, Does.Not.Contain("IgnoredByMethodAsync"), "the ignored method's leak in the same test is left out");
        Assert.That(message, Does.Contain("TaskLeak: 1 async operation started by this test leaked"));
    }

    [Test]
    public void The_nearest_attribute_wins_and_warnings_carry_the_report()
    {
        AssertLeakReport("Actions.Nearest_attribute_fails_it", "NearestAsync", "Actions.Nearest_attribute_fails_it()");
        AssertLeakReport("Actions.Leak_warns", "WarnedAsync", "Actions.Leak_warns()", sharedSite: true);
    }

    [Test]
    public void Operations_still_suspended_at_the_end_are_the_stalled_tier()
    {
        string message = Run["Stalled.Operation_still_suspended_at_the_end_fails"].Message!;
        Assert.That(message, Does.StartWith("TaskLeak: 1 async operation started by this test is still suspended at its end"));
        Assert.That(message, Does.Contain("1 \u00d7 TaskLeak.NUnit.Samples.Operations.ParkedAsync at Operations.cs:" + AwaitLine("ParkedAsync")));
        Assert.That(message, Does.Contain("waiting on  TaskCompletionSource<int>.Task"));
        Assert.That(message, Does.Not.Contain("leaked"), "reachable operations are never called leaks");
    }

    [Test]
    public void Explicit_assertions_report_what_the_test_started()
    {
        AssertLeakReport("Explicit.NoLeaks_fails_on_a_leak", "AssertedAsync", "Explicit.NoLeaks_fails_on_a_leak()", sharedSite: true);
        Assert.That(Run["Explicit.NoPendingOperations_fails_on_a_pending_operation"].Message,
            Does.StartWith("TaskLeak: 1 async operation started by this test is still suspended at its end"));
        AssertLeakReport("Explicit.NoLeaks_of_an_inner_scope", "InnerScopeAsync", "Explicit.NoLeaks_of_an_inner_scope()",
            header: "TaskLeak: 1 async operation started in scope 'inner' leaked");
    }

    [Test]
    public void A_leak_an_assertion_reported_is_not_reported_again_after_the_test()
    {
        ITestResult result = Run["Explicit.Leak_warned_by_an_assertion_is_not_failed_again_after_the_test"];
        Assert.That(result.ResultState.Status, Is.EqualTo(TestStatus.Warning), result.Message);
        Assert.That(result.AssertionResults, Has.Count.EqualTo(1));
    }

    [Test]
    public void Process_attribution_counts_escaped_work_and_leaves_out_what_predates_the_test()
    {
        string escaped = Run["ProcessWide.Leak_in_work_that_suppressed_flow_fails"].Message!;
        Assert.That(escaped, Does.StartWith("TaskLeak: 1 async operation in this process since the test began leaked"));
        Assert.That(escaped, Does.Contain("TaskLeak.NUnit.Samples.Operations.EscapedAsync at Operations.cs:" + AwaitLine("EscapedAsync")));
        Assert.That(escaped, Does.Not.Contain("PrecedingAsync"));

        Assert.That(Run["ProcessWide.Without_the_starting_point_everything_counts"].Message,
            Does.Contain("TaskLeak.NUnit.Samples.Operations.PrecedingAsync at Operations.cs:" + AwaitLine("PrecedingAsync")));
        Assert.That(Run["WorkStartedBeforeTheTest.Work_that_suppresses_flow_escapes_test_attribution"].ResultState,
            Is.EqualTo(ResultState.Success), "with Test attribution, work that suppressed flow belongs to no test");
    }

    /// <summary>
    /// Asserts the report of a test that leaked once at <paramref name="method"/>'s await; returns the message. The
    /// creation stack must run through <paramref name="creationFrame"/>, or, where other tests leaked at the same site
    /// (<paramref name="sharedSite"/>), be labelled as another operation's example.
    /// </summary>
    private static string AssertLeakReport(string test, string method, string creationFrame, bool sharedSite = false,
        string header = "TaskLeak: 1 async operation started by this test leaked")
    {
        ITestResult result = Run[test];
        string message = result.Message ?? "";
        Assert.That(message, Does.StartWith(header), test);
        Assert.That(message, Does.Contain("1 \u00d7 TaskLeak.NUnit.Samples.Operations." + method + " at Operations.cs:" + AwaitLine(method) + "\n"), test);
        Assert.That(message, Does.Contain("waiting on  TaskCompletionSource<int>.Task (Task<int>)"), test);
        Assert.That(message, Does.Contain("chain       TaskLeak.NUnit.Samples.Operations." + method + " (Operations.cs:" + AwaitLine(method) + ")"), test);
        Assert.That(message, Does.Contain("created at"), test);
        string frame = "at TaskLeak.NUnit.Samples." + creationFrame;
        if (sharedSite)
        {
            Assert.That(message, Does.Contain(frame).Or.Contain("created at  (an example from another operation at this site)"), test);
        }
        else
        {
            Assert.That(message, Does.Contain(frame), test + ": the creation stack runs through the test");
            Assert.That(message, Does.Not.Contain("an example"), test + ": only this test leaked at this site");
        }

        Assert.That(message, Does.Not.Contain("at NUnit.Framework."), "runner frames are trimmed from the creation stack");
        return message;
    }

    /// <summary>The line of the first await in <paramref name="method"/>, as the report names it.</summary>
    private static int AwaitLine(string method) => SampleRun.LineOf("Operations.cs", method + "(TaskCompletionSource<int>", thenFind: "await ");

    private static string Messages() =>
        string.Join("\n", Run.Results.Select(r => r.Key + ": " + r.Value.ResultState + " " + r.Value.Message?.Split('\n')[0]));
}
