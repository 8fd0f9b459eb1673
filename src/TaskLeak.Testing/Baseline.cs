using System.Collections.Generic;

namespace TaskLeak.Testing;

/// <summary>
/// What the whole process had when a test began, per await site: suspended operations and proven leaks. Only
/// <see cref="TaskLeakAttribution.Process"/> needs it; a test's own scope is empty when it begins.
/// </summary>
internal sealed class Baseline
{
    private Baseline(Dictionary<string, long> leaks, Dictionary<string, long> pending)
    {
        Leaks = leaks;
        Pending = pending;
    }

    internal static Baseline Empty { get; } = new(new Dictionary<string, long>(), new Dictionary<string, long>());

    internal IReadOnlyDictionary<string, long> Leaks { get; }

    internal IReadOnlyDictionary<string, long> Pending { get; }

    /// <summary>Reads the registry and the ledger as they are: no collection is forced.</summary>
    internal static Baseline Take()
    {
        var leaks = new Dictionary<string, long>();
        foreach (TaskLeakGroup group in TaskLeakDetector.GetReport().Leaks)
        {
            Add(leaks, SiteKey.Of(group), group.Count);
        }

        var pending = new Dictionary<string, long>();
        foreach (PendingOperationGroup group in TaskLeakDetector.Snapshot().Groups)
        {
            Add(pending, SiteKey.Of(group), group.Count);
        }

        return new Baseline(leaks, pending);
    }

    internal static void Add(Dictionary<string, long> counts, string key, long count) =>
        counts[key] = counts.TryGetValue(key, out long seen) ? seen + count : count;

    internal static long Get(IReadOnlyDictionary<string, long>? counts, string key) =>
        counts is not null && counts.TryGetValue(key, out long count) ? count : 0;
}
