using System;
using System.Collections.Generic;
using System.Linq;
using TaskLeak;

namespace LeakCorpus.Harness;

/// <summary>How well a report answers one of the questions a developer has.</summary>
public enum Mark
{
    /// <summary>Not asked: the scenario has nothing to point at.</summary>
    NotApplicable,

    /// <summary>The report answers it.</summary>
    Yes,

    /// <summary>The report gives a hint, not the answer (event 27's awaiter type instead of the awaited object).</summary>
    Partial,

    /// <summary>The report does not answer it.</summary>
    No,
}

/// <summary>One detector's answer for one scenario, judged against the scenario's <see cref="Expected"/>.</summary>
public sealed record Assessment(
    string Verdict,
    bool Correct,
    bool ClaimsLeak,
    bool Stalled,
    Mark Method,
    Mark AwaitLine,
    Mark WaitTarget,
    Mark CreationSite,
    string? Error)
{
    /// <summary>TaskLeak: proven leaks (root groups), and for stalled scenarios its stalled tier.</summary>
    public static Assessment OfTaskLeak(CorpusCase corpusCase, TaskLeakOutcome outcome)
    {
        Expected expected = corpusCase.Expected;
        bool claims = outcome.Leaks.Count > 0;
        string? method = expected.Method is null ? null : corpusCase.MethodName(expected.Method);
        string? site = expected.AwaitMarker is null ? null : SourceMarkers.SiteOf(expected.SourceFile, expected.AwaitMarker);
        switch (expected.Verdict)
        {
            case Harness.Verdict.ProvenLeak:
            {
                TaskLeakGroup? group = outcome.Leaks.FirstOrDefault(g => g.Method == method) ?? outcome.Leaks.FirstOrDefault();
                bool exact = group is not null && group.Method == method && group.AwaitSite == site && group.Count == expected.Count
                    && group.StartedBy == ExpectedStartedBy(expected)
                    && (expected.AwaitedBy.Count == 0 || group.AwaitedBy.SequenceEqual(ExpectedAwaitedBy(corpusCase)))
                    && outcome.Leaks.Count == 1 + expected.OtherRoots.Count
                    && expected.OtherRoots.All(r => outcome.Leaks.Any(g => g.Method == corpusCase.MethodName(r.Method)
                        && g.AwaitSite == SourceMarkers.SiteOf(expected.SourceFile, r.Marker) && g.Count == r.Count));
                return new Assessment(
                    claims ? "leak \u00d7" + outcome.LeakedCount : "\u2014",
                    claims && outcome.Error is null,
                    claims,
                    false,
                    Judge(group is not null && group.Method == method),
                    Judge(group is not null && group.AwaitSite == site),
                    Judge(group is not null && expected.WaitTarget is not null && group.WaitTarget.Contains(expected.WaitTarget, StringComparison.Ordinal)),
                    Judge(group is not null && NamesCreation(corpusCase, group)),
                    outcome.Error ?? (claims && !exact ? "reported " + Describe(outcome.Leaks) : null));
            }

            case Harness.Verdict.Stalled:
            {
                StalledOperationGroup? group = outcome.Stalled.FirstOrDefault(g => g.Method == method);
                bool seen = group is not null && outcome.StalledEvents.Any(e => e.StartsWith(method + " at ", StringComparison.Ordinal));
                bool exact = group is not null && group.AwaitSite == site && group.Count == expected.Count;
                return new Assessment(
                    claims ? "leak \u00d7" + outcome.LeakedCount : seen ? "stalled \u00d7" + group!.Count : "\u2014",
                    !claims && seen && outcome.Error is null,
                    claims,
                    seen,
                    Judge(group is not null),
                    Judge(group is not null && group.AwaitSite == site),
                    Judge(group is not null && expected.WaitTarget is not null && group.WaitTarget.Contains(expected.WaitTarget, StringComparison.Ordinal)),
                    Mark.No, // the stalled tier keeps no stacks
                    outcome.Error ?? (claims ? "reported " + Describe(outcome.Leaks)
                        : !exact ? "stalled tier: " + string.Join("; ", outcome.Stalled.Select(g => g.Count + " \u00d7 " + g.Method + " (" + g.AwaitSite + ")")) : null));
            }

            default:
                return new Assessment(
                    claims ? "leak \u00d7" + outcome.LeakedCount : "\u2014",
                    !claims && outcome.Error is null,
                    claims,
                    false,
                    Mark.NotApplicable, Mark.NotApplicable, Mark.NotApplicable, Mark.NotApplicable,
                    outcome.Error ?? (claims ? "reported " + Describe(outcome.Leaks)
                        : (outcome.PendingWhileSuspended > 0) == expected.NeverSuspends
                            ? outcome.PendingWhileSuspended + " operation(s) suspended while the detector looked" : null));
        }
    }

    /// <summary>Event 27: a leak is claimed when an event names a corpus state machine; the marks are read off its payloads.</summary>
    public static Assessment OfEvent27(CorpusCase corpusCase, Event27Outcome outcome)
    {
        Expected expected = corpusCase.Expected;
        IReadOnlyList<string> events = outcome.Events;
        bool claims = events.Count > 0;
        string verdict = claims ? "leak (" + events.Count + (events.Count == 1 ? " event)" : " events)") : "\u2014";
        if (expected.Verdict != Harness.Verdict.ProvenLeak)
        {
            return new Assessment(verdict, !claims && outcome.Error is null, claims, false,
                Mark.NotApplicable, Mark.NotApplicable, Mark.NotApplicable, Mark.NotApplicable, outcome.Error);
        }

        string method = StripGenerics(corpusCase.MethodName(expected.Method!));
        string site = SourceMarkers.SiteOf(expected.SourceFile, expected.AwaitMarker!);
        string[] naming = events.Where(e => Event27Pass.MethodOf(e) == method).ToArray();
        Mark target = Mark.No;
        if (naming.SelectMany(Event27Pass.AwaiterLines).Any(l => expected.WaitTarget is not null && l.Contains(expected.WaitTarget, StringComparison.Ordinal)))
        {
            target = Mark.Yes;
        }
        else if (naming.SelectMany(Event27Pass.AwaiterLines).Any())
        {
            target = Mark.Partial;
        }

        return new Assessment(
            verdict,
            claims && outcome.Error is null,
            claims,
            false,
            Judge(naming.Length > 0),
            Judge(events.Any(e => e.Contains(site, StringComparison.Ordinal))),
            claims ? target : Mark.No,
            Judge(events.Any(e => e.Contains(corpusCase.Type.Name + ".Start", StringComparison.Ordinal))),
            outcome.Error);
    }

    /// <summary><c>Task.Run at File.cs:12</c>, as <see cref="TaskLeakGroup.StartedBy"/> reads, or null when nothing spawned the work.</summary>
    public static string? ExpectedStartedBy(Expected expected) =>
        expected.SpawnMarker is null ? null : expected.SpawnApi + " at " + SourceMarkers.SiteOf(expected.SourceFile, expected.SpawnMarker);

    /// <summary>The awaiters above the root as <see cref="TaskLeakGroup.AwaitedBy"/> lists them: <c>Ns.Type.Method (File.cs:12)</c>.</summary>
    public static IReadOnlyList<string> ExpectedAwaitedBy(CorpusCase corpusCase) =>
        corpusCase.Expected.AwaitedBy.Select(f => corpusCase.MethodName(f.Method) + " (" + SourceMarkers.SiteOf(corpusCase.Expected.SourceFile, f.Marker) + ")").ToList();

    /// <summary>The creation site: the scenario's starter in the creation stack, or the spawn call that started the work.</summary>
    private static bool NamesCreation(CorpusCase corpusCase, TaskLeakGroup group)
    {
        Expected expected = corpusCase.Expected;
        if (expected.SpawnMarker is not null)
        {
            return group.StartedBy == ExpectedStartedBy(expected);
        }

        return group.CreationStack is string stack && stack.Contains(corpusCase.Type.FullName!.Replace('+', '.') + ".Start(", StringComparison.Ordinal);
    }

    private static Mark Judge(bool yes) => yes ? Mark.Yes : Mark.No;

    private static string StripGenerics(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length);
        int depth = 0;
        foreach (char c in name)
        {
            if (c == '<')
            {
                depth++;
            }
            else if (c == '>')
            {
                depth--;
            }
            else if (depth == 0)
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static string Describe(IReadOnlyList<TaskLeakGroup> leaks) => string.Join("; ", leaks.Select(l => l.Count + " \u00d7 " + l.Method + " (" + l.AwaitSite + ")"));
}
