using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using LeakCorpus.Harness;
using NUnit.Framework;
using TaskLeak;

namespace LeakCorpus.Tests;

/// <summary>
/// Every scenario of the leak corpus, in both compilations (optimized: struct state machines; unoptimized: class
/// state machines), against TaskLeak: the verdict, and for leaks and stalls the sites a report must name.
/// </summary>
[NonParallelizable] // Woven code reports to the process's one default detector, which these tests reset and whose leaks they count.
public class CorpusTests
{
    private static readonly Lazy<IReadOnlyList<CorpusCase>> s_cases = new(() => CorpusCase.Load());

    public static IEnumerable<TestCaseData> Cases() =>
        s_cases.Value.Select(c => new TestCaseData(c.Compilation, c.Name).SetName(c.Expected.Verdict + ": " + c.Name + " (" + c.Compilation + ")"));

    [TestCaseSource(nameof(Cases))]
    public void TaskLeak_reports_exactly_what_the_scenario_declares(string compilation, string name)
    {
        CorpusCase corpusCase = s_cases.Value.Single(c => c.Compilation == compilation && c.Name == name);
        Expected expected = corpusCase.Expected;

        TaskLeakOutcome outcome = TaskLeakPass.Run(corpusCase);

        Assert.That(outcome.Error, Is.Null, "the scenario ran as written");
        Assert.That(outcome.PendingAtEnd, Is.Zero, "nothing the scenario started is left suspended");
        switch (expected.Verdict)
        {
            case Verdict.ProvenLeak:
                AssertLeak(corpusCase, outcome);
                break;
            case Verdict.NoLeak:
                Assert.That(outcome.Leaks, Is.Empty, () => "false positive:\n" + string.Join("\n", outcome.Leaks));
                Assert.That(outcome.PendingWhileSuspended, expected.NeverSuspends ? Is.Zero : Is.Positive,
                    expected.NeverSuspends ? "completes synchronously: nothing to track" : "suspended while the detector looked");
                Assert.That(outcome.StalledEvents, Is.Empty, "the stalled tier is off unless enabled");
                break;
            default:
                AssertStalled(corpusCase, outcome);
                break;
        }
    }

    private static void AssertLeak(CorpusCase corpusCase, TaskLeakOutcome outcome)
    {
        Expected expected = corpusCase.Expected;
        string Site(string marker) => SourceMarkers.SiteOf(expected.SourceFile, marker);
        var roots = new List<(string Method, string Site, int Count)> { (corpusCase.MethodName(expected.Method!), Site(expected.AwaitMarker!), expected.Count) };
        roots.AddRange(expected.OtherRoots.Select(r => (corpusCase.MethodName(r.Method), Site(r.Marker), r.Count)));

        Assert.That(outcome.Leaks.Select(g => (g.Method, g.AwaitSite, g.Count)), Is.EquivalentTo(roots),
            () => "proven groups:\n" + string.Join("\n", outcome.Leaks));
        TaskLeakGroup root = outcome.Leaks.Single(g => g.Method == roots[0].Method);
        Assert.That(root.WaitTarget, Does.Contain(expected.WaitTarget));
        Assert.That(root.StartedBy, Is.EqualTo(Assessment.ExpectedStartedBy(expected)));
        if (expected.AwaitedBy.Count > 0)
        {
            Assert.That(root.AwaitedBy, Is.EqualTo(Assessment.ExpectedAwaitedBy(corpusCase)));
            Assert.That(root.AwaiterCount, Is.EqualTo(expected.AwaitedBy.Count * expected.Count));
        }

        if (expected.SpawnMarker is null)
        {
            Assert.That(root.CreationStack, Does.Contain(corpusCase.Type.FullName!.Replace('+', '.') + ".Start("),
                "the creation stack reaches the code that started the operation");
        }

        Assert.That(outcome.LeaksInScope, Is.EqualTo(outcome.LeakedCount), "every leak is attributed to the scenario's TaskLeakScope");
    }

    private static void AssertStalled(CorpusCase corpusCase, TaskLeakOutcome outcome)
    {
        Expected expected = corpusCase.Expected;
        string method = corpusCase.MethodName(expected.Method!);
        string site = SourceMarkers.SiteOf(expected.SourceFile, expected.AwaitMarker!);

        Assert.That(outcome.Leaks, Is.Empty, () => "reachable: never proven, yet reported:\n" + string.Join("\n", outcome.Leaks));
        StalledOperationGroup? stalled = outcome.Stalled.SingleOrDefault(g => g.Method == method);
        Assert.That(stalled, Is.Not.Null, () => "the stalled tier lists it: " + string.Join("; ", outcome.Stalled));
        Assert.That(stalled!.AwaitSite, Is.EqualTo(site));
        Assert.That(stalled.Count, Is.EqualTo(expected.Count));
        Assert.That(stalled.WaitTarget, Does.Contain(expected.WaitTarget));
        Assert.That(stalled.OldestAgeMilliseconds, Is.GreaterThanOrEqualTo((long)TaskLeakPass.StalledThreshold.TotalMilliseconds));
        Assert.That(stalled.ToString(), Does.Contain(StalledOperationGroup.Label));
        Assert.That(outcome.StalledEvents, Does.Contain(method + " at " + site + " \u00d7" + expected.Count),
            "a sweep with StalledThreshold set reported it (EventSource event 2)");
    }
}

/// <summary>The corpus itself: big enough, the same in both compilations, and built the way its verdicts assume.</summary>
public class CorpusShapeTests
{
    private static IReadOnlyList<CorpusCase> Cases => CorpusCase.Load();

    [Test]
    public void The_corpus_has_at_least_30_leaks_30_non_leaks_and_6_stalled_scenarios_in_each_compilation()
    {
        foreach ((string compilation, string _) in CorpusCase.Compilations)
        {
            ILookup<Verdict, CorpusCase> byVerdict = Cases.Where(c => c.Compilation == compilation).ToLookup(c => c.Expected.Verdict);
            Assert.That(byVerdict[Verdict.ProvenLeak].Count(), Is.GreaterThanOrEqualTo(30), compilation);
            Assert.That(byVerdict[Verdict.NoLeak].Count(), Is.GreaterThanOrEqualTo(30), compilation);
            Assert.That(byVerdict[Verdict.Stalled].Count(), Is.GreaterThanOrEqualTo(6), compilation);
        }
    }

    [Test]
    public void Both_compilations_hold_the_same_uniquely_named_scenarios()
    {
        string[] release = Cases.Where(c => c.Compilation == "Release").Select(c => c.Name).ToArray();
        string[] debug = Cases.Where(c => c.Compilation == "Debug").Select(c => c.Name).ToArray();

        Assert.That(release, Is.Unique);
        Assert.That(debug, Is.EquivalentTo(release));
    }

    [Test]
    public void Release_state_machines_are_structs_and_Debug_ones_classes()
    {
        foreach (CorpusCase corpusCase in Cases)
        {
            Type[] machines = corpusCase.Type.GetNestedTypes(System.Reflection.BindingFlags.NonPublic)
                .Where(t => typeof(IAsyncStateMachine).IsAssignableFrom(t) && !IsIterator(t)).ToArray();
            foreach (Type machine in machines)
            {
                Assert.That(machine.IsValueType, Is.EqualTo(corpusCase.Compilation == "Release"), corpusCase + ": " + machine.Name);
            }
        }

        Assert.That(Cases.Count(c => c.Compilation == "Release" && c.Type.GetNestedTypes(System.Reflection.BindingFlags.NonPublic)
            .Any(t => typeof(IAsyncStateMachine).IsAssignableFrom(t) && t.IsValueType)), Is.GreaterThan(60));
    }

    [Test]
    public void Starters_are_NoInlining_and_no_override_is_an_async_method()
    {
        foreach (CorpusCase corpusCase in Cases)
        {
            System.Reflection.MethodInfo start = corpusCase.Type.GetMethod(nameof(Scenario.Start))!;
            Assert.That(start.MethodImplementationFlags & System.Reflection.MethodImplAttributes.NoInlining,
                Is.EqualTo(System.Reflection.MethodImplAttributes.NoInlining), corpusCase.ToString());
            foreach (string name in new[] { nameof(Scenario.Start), nameof(Scenario.Finish) })
            {
                Assert.That(corpusCase.Type.GetMethod(name)!.GetCustomAttributes(typeof(AsyncStateMachineAttribute), false), Is.Empty,
                    corpusCase + "." + name + " would be tracked itself");
            }
        }
    }

    [Test]
    public void Every_declared_marker_ends_exactly_one_line()
    {
        foreach (Expected expected in Cases.Select(c => c.Expected))
        {
            IEnumerable<string> markers = new[] { expected.AwaitMarker, expected.SpawnMarker }
                .Concat(expected.AwaitedBy.Select(f => f.Marker)).Concat(expected.OtherRoots.Select(r => r.Marker))
                .OfType<string>();
            foreach (string marker in markers)
            {
                Assert.That(SourceMarkers.LineOf(expected.SourceFile, marker), Is.Positive);
            }
        }

        Assert.That(() => SourceMarkers.LineOf(Cases[0].Expected.SourceFile, "leak:no-such-marker"), Throws.InvalidOperationException);
    }

    private static bool IsIterator(Type machine) =>
        machine.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IAsyncEnumerator<>));
}
