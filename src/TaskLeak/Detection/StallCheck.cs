using System;
using System.Collections.Generic;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// One pass of the stalled tier over live operations (the caller holds the sweep lock: checks never overlap).
/// An operation's time at its current await is known exactly until it first resumes (it starts at the first
/// suspension); after a resumption it is counted from the first check that saw the new resumption count, so ages are
/// never overstated. Observations are tagged with the slot's generation, so the hooks never write them. Every operation seen here is reachable: this tier only ever says "suspected".
/// </summary>
internal sealed class StallCheck
{
    private readonly long _now;
    private readonly long _thresholdMs;
    private readonly Dictionary<int, (int Count, long Oldest)> _bySite = new();

    internal StallCheck(long now, TimeSpan threshold)
    {
        _now = now;
        _thresholdMs = Math.Max(0, (long)threshold.TotalMilliseconds);
    }

    internal void Observe(ref Slot slot, int site, int generation)
    {
        int resumptions = slot.Resumptions;
        long since;
        if (resumptions == 0)
        {
            since = slot.SuspendedAt;
        }
        else if (slot.ObservedGeneration != generation || slot.ObservedResumptions != resumptions)
        {
            slot.ObservedGeneration = generation;
            slot.ObservedResumptions = resumptions;
            slot.ObservedSince = since = _now;
        }
        else
        {
            since = slot.ObservedSince;
        }

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
            SiteInfo site = SiteRegistry.Get(entry.Key);
            groups.Add(new StalledOperationGroup(site.Method, site.Location, site.SourcePath, site.Line,
                site.Target.Length > 0 ? site.Target : "<unknown>", entry.Value.Count, entry.Value.Oldest, entry.Key));
        }

        groups.Sort(static (a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.AwaitSite, b.AwaitSite));
        return groups;
    }
}
