using System;
using System.Collections.Generic;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// One pass of the stalled tier over live operations (the caller holds the sweep lock: checks never overlap).
/// An operation's time at its current await is known exactly until it first resumes (it starts at the first
/// suspension); after a resumption it is counted from the first check that saw the new resumption count, so ages are
/// never overstated. What a check remembers lives in <see cref="StallHistory"/>, tagged with the slot's generation:
/// the tier only reads slots. Every operation seen here is reachable: this tier only ever says "suspected".
/// </summary>
internal sealed class StallCheck
{
    private readonly long _now;
    private readonly long _thresholdMs;
    private readonly StallHistory _history;
    private readonly SiteRegistry _sites;
    private readonly Dictionary<int, (int Count, long Oldest)> _bySite = new();

    internal StallCheck(long now, TimeSpan threshold, StallHistory history, SiteRegistry sites)
    {
        _now = now;
        _thresholdMs = Math.Max(0, (long)threshold.TotalMilliseconds);
        _history = history;
        _sites = sites;
    }

    internal void Observe(int index, ref Slot slot, int site, int generation)
    {
        int resumptions = slot.Resumptions;
        long since = resumptions == 0 ? slot.SuspendedAt : _history.Since(index, generation, resumptions, _now);
        long age = Math.Max(0, _now - since);
        if (age >= _thresholdMs)
        {
            _bySite[site] = _bySite.TryGetValue(site, out var seen) ? (seen.Count + 1, Math.Max(seen.Oldest, age)) : (1, age);
        }
    }

    internal IReadOnlyList<StalledOperationGroup> ToGroups()
    {
        var groups = new List<StalledOperationGroup>(_bySite.Count);
        foreach (KeyValuePair<int, (int Count, long Oldest)> entry in _bySite)
        {
            SiteInfo site = _sites.Get(entry.Key);
            groups.Add(new StalledOperationGroup(site.Method, site.Location, site.SourcePath, site.Line,
                site.Target.Length > 0 ? site.Target : "<unknown>", entry.Value.Count, entry.Value.Oldest, entry.Key));
        }

        groups.Sort(static (a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.AwaitSite, b.AwaitSite));
        return groups;
    }
}

/// <summary>
/// The stalled tier's memory, by slot: the generation and resumption count a check last saw, and since when. Written
/// only under the owning detector's sweep lock; grows with the registry.
/// </summary>
internal sealed class StallHistory
{
    private int[] _generation = Array.Empty<int>();
    private int[] _resumptions = Array.Empty<int>();
    private long[] _since = Array.Empty<long>();

    /// <summary>Since when the operation in <paramref name="index"/> has sat at its current await, as far as checks know.</summary>
    internal long Since(int index, int generation, int resumptions, long now)
    {
        if (index >= _since.Length)
        {
            int size = Math.Max(index + 1, _since.Length * 2);
            Array.Resize(ref _generation, size);
            Array.Resize(ref _resumptions, size);
            Array.Resize(ref _since, size);
        }

        // Generation 0 with 0 resumptions never reaches here (resumptions > 0), so a zeroed entry never matches by accident.
        if (_generation[index] != generation || _resumptions[index] != resumptions)
        {
            _generation[index] = generation;
            _resumptions[index] = resumptions;
            _since[index] = now;
        }

        return _since[index];
    }

    internal void Clear()
    {
        Array.Clear(_generation, 0, _generation.Length);
        Array.Clear(_resumptions, 0, _resumptions.Length);
        Array.Clear(_since, 0, _since.Length);
    }
}
