using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace LeakCorpus.Harness;

/// <summary>What a scenario must produce.</summary>
public enum Verdict
{
    /// <summary>The suspended frame is unreachable: a detector must prove it leaked.</summary>
    ProvenLeak,

    /// <summary>Nothing leaks: whatever suspends completes (or was never stuck). Any proven leak is a false positive.</summary>
    NoLeak,

    /// <summary>Reachable but stuck: never a proven leak; TaskLeak's stalled tier reports it once enabled.</summary>
    Stalled,
}

/// <summary>
/// A scenario's expected verdict and, for leaks and stalls, where a good report points. Declared next to the code
/// it describes: lines come from marker comments (<c>// leak:name</c> at the end of the line) in the file that
/// declares the expectation, found at run time, so they cannot drift from the source.
/// </summary>
public sealed record Expected
{
    private Expected(Verdict verdict, string? method, string? awaitMarker, string sourceFile)
    {
        Verdict = verdict;
        Method = method;
        AwaitMarker = awaitMarker;
        SourceFile = sourceFile;
    }

    /// <summary>The verdict.</summary>
    public Verdict Verdict { get; }

    /// <summary>The method suspended at the stuck await, relative to the scenario type (<c>WaitAsync</c>, <c>Cache&lt;T&gt;.LoadAsync</c>).</summary>
    public string? Method { get; }

    /// <summary>The marker comment ending the line of the stuck await.</summary>
    public string? AwaitMarker { get; }

    /// <summary>The source file that declared the expectation (and holds the markers).</summary>
    public string SourceFile { get; }

    /// <summary>How many operations leak (or stall) at the site.</summary>
    public int Count { get; private init; } = 1;

    /// <summary>Leaked operations at the root and every other root group.</summary>
    public int TotalRoots
    {
        get
        {
            int total = Count;
            foreach ((string _, string _, int count) in OtherRoots)
            {
                total += count;
            }

            return total;
        }
    }

    /// <summary>Text the report's wait target must contain: what the frame awaits, as a reader needs it to find the bug.</summary>
    public string? WaitTarget { get; private init; }

    /// <summary>The spawn API that started the work (<c>Task.Run</c>), when the leak happens inside spawned work.</summary>
    public string? SpawnApi { get; private init; }

    /// <summary>The marker ending the line of the spawn call.</summary>
    public string? SpawnMarker { get; private init; }

    /// <summary>The frames awaiting the root, innermost first: method (relative to the scenario type) and await marker.</summary>
    public IReadOnlyList<(string Method, string Marker)> AwaitedBy { get; private init; } = Array.Empty<(string, string)>();

    /// <summary>
    /// Further root groups the same leak must produce: frames stuck on the leak whose link to it the runtime cannot
    /// see (an awaiter of a ValueTask-returning child, a WhenAll over leaked children), each with its own site.
    /// </summary>
    public IReadOnlyList<(string Method, string Marker, int Count)> OtherRoots { get; private init; } = Array.Empty<(string, string, int)>();

    /// <summary>A suspended frame nobody can resume: it must be proven leaked at the marked await.</summary>
    public static Expected ProvenLeak(string method, string awaitMarker, [CallerFilePath] string sourceFile = "") =>
        new(Verdict.ProvenLeak, method, awaitMarker, sourceFile);

    /// <summary>Nothing leaks; any proven leak is a false positive.</summary>
    public static Expected NoLeak([CallerFilePath] string sourceFile = "") => new(Verdict.NoLeak, null, null, sourceFile);

    /// <summary>Reachable but stuck at the marked await: never proven; the stalled tier names it.</summary>
    public static Expected Stalled(string method, string awaitMarker, [CallerFilePath] string sourceFile = "") =>
        new(Verdict.Stalled, method, awaitMarker, sourceFile);

    /// <summary>A non-leak that never suspends (synchronous completion): nothing is pending while the detector looks.</summary>
    public bool NeverSuspends { get; private init; }

    /// <summary>The fragment completes synchronously; by default a non-leak must be suspended while the detector looks.</summary>
    public Expected Synchronously() => this with { NeverSuspends = true };

    /// <summary>That many operations leak (or stall) at the one site.</summary>
    public Expected Times(int count) => this with { Count = count };

    /// <summary>The wait target must mention <paramref name="text"/>.</summary>
    public Expected WaitingOn(string text) => this with { WaitTarget = text };

    /// <summary>The work was started by <paramref name="api"/> at the line ending with <paramref name="spawnMarker"/>.</summary>
    public Expected StartedBy(string api, string spawnMarker) => this with { SpawnApi = api, SpawnMarker = spawnMarker };

    /// <summary>The next frame up the logical async stack awaits the one below at the marked line.</summary>
    public Expected ThenAwaitedBy(string method, string marker) =>
        this with { AwaitedBy = new List<(string, string)>(AwaitedBy) { (method, marker) } };

    /// <summary>Another root group of the same leak (see <see cref="OtherRoots"/>).</summary>
    public Expected AlsoRootAt(string method, string marker, int count = 1) =>
        this with { OtherRoots = new List<(string, string, int)>(OtherRoots) { (method, marker, count) } };
}
