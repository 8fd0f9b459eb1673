using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LeakCorpus.Harness;
using NUnit.Framework;

namespace LeakCorpus.Tests;

/// <summary>
/// The peer comparison end to end: the runner's event-27 pass, launched as its own process (enabling the event changes
/// every async method's box), over the whole corpus; its output parsed and judged as the table judges it.
/// </summary>
[NonParallelizable] // The event-27 listener is process-wide (TplEventSource), and woven code reports to the one default detector.
public class Event27Tests
{
    private static readonly Lazy<IReadOnlyList<Event27Outcome>> s_outcomes = new(() =>
        Event27Process.Launch(Path.Combine(TestContext.CurrentContext.TestDirectory, "LeakCorpus.Runner.dll"), null, TimeSpan.FromMinutes(5)));

    private static IReadOnlyList<CorpusCase> Cases => CorpusCase.Load();

    [Test]
    public void The_pass_reports_every_scenario_of_both_compilations_and_runs_each_as_written()
    {
        IReadOnlyList<Event27Outcome> outcomes = s_outcomes.Value;

        Assert.That(outcomes.Select(o => o.Scenario + " (" + o.Compilation + ")"), Is.EquivalentTo(Cases.Select(c => c.ToString())));
        Assert.That(outcomes.Where(o => o.Error is not null).Select(o => o.Scenario + ": " + o.Error), Is.Empty);
    }

    [TestCase("DroppedGenericSource", "WaitForValueAsync")]
    [TestCase("AsyncVoidHandler", "OnMessage")]
    [TestCase("ValueTaskMethod", "ReadAsync")]
    public void Event_27_names_the_state_machine_of_a_dropped_frame_and_nothing_more(string scenario, string method)
    {
        foreach (string compilation in new[] { "Release", "Debug" })
        {
            string description = Outcome(scenario, compilation).Events.Single();
            CorpusCase corpusCase = Case(scenario, compilation);

            Assert.That(Event27Pass.MethodOf(description), Is.EqualTo(corpusCase.MethodName(method)), description);
            Assert.That(description, Does.Contain("<>1__state: 0"), "the await index, not its line");
            Assert.That(Event27Pass.AwaiterLines(description), Is.Not.Empty, "the awaiter's type is all it says about the wait");
            Assert.That(description, Does.Not.Contain(".cs:"), "no source location");
            Assert.That(Assessment.OfEvent27(corpusCase, Outcome(scenario, compilation)) is { Correct: true, Method: Mark.Yes, AwaitLine: Mark.No, CreationSite: Mark.No });
        }
    }

    [Test]
    public void Event_27_reports_every_box_of_a_chain_and_every_leak_of_a_loop()
    {
        Assert.That(Outcome("ChainOfThree", "Release").Events.Select(Event27Pass.MethodOf), Is.EquivalentTo(new[]
        {
            Case("ChainOfThree", "Release").MethodName("ReadReplyAsync"),
            Case("ChainOfThree", "Release").MethodName("LoadOrderAsync"),
            Case("ChainOfThree", "Release").MethodName("HandleRequestAsync"),
        }), "three events, unordered: it cannot tell which frame is the stuck one");
        Assert.That(Outcome("ManyFromOneLoop", "Debug").Events, Has.Count.EqualTo(10));
    }

    [TestCase("PooledValueTaskMethod")]
    [TestCase("PooledValueTaskVoidMethod")]
    [TestCase("PooledBoxReusedThenDropped")]
    public void Event_27_misses_leaks_of_the_pooling_builder_whose_boxes_are_not_finalizable(string scenario)
    {
        Assert.That(Outcome(scenario, "Release").Events, Is.Empty);
        Assert.That(Outcome(scenario, "Debug").Events, Is.Empty);
    }

    [Test]
    public void Event_27_stays_silent_for_reachable_operations()
    {
        // Not the frames a finalizer revives: whether event 27 reports those depends on the order the finalizer thread
        // runs the box's finalizer and the one that completes its source (the README gives the measured rates).
        IEnumerable<CorpusCase> reachable = Cases.Where(c => c.Expected.Verdict == Verdict.Stalled
            || (c.Expected.Verdict == Verdict.NoLeak && !c.Name.StartsWith("Finalizer", StringComparison.Ordinal)));

        Assert.That(reachable.Where(c => Outcome(c.Name, c.Compilation).Events.Count > 0).Select(c => c.ToString()), Is.Empty);
    }

    private static Event27Outcome Outcome(string scenario, string compilation) =>
        s_outcomes.Value.Single(o => o.Scenario == scenario && o.Compilation == compilation);

    private static CorpusCase Case(string scenario, string compilation) =>
        Cases.Single(c => c.Name == scenario && c.Compilation == compilation);
}
