using System;
using System.Collections.Generic;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>Builds snapshots of live suspended operations from the registry.</summary>
internal static class PendingOperations
{
    internal static TaskLeakSnapshot Snapshot(OperationRegistry registry, SiteRegistry sites, int scope = 0)
    {
        long now = Clock.NowMilliseconds();
        var bySite = new Dictionary<int, (int Count, long Oldest)>();
        registry.VisitLive((int _, int _, int site, ref Slot slot) =>
        {
            if (scope != 0 && slot.Scope != scope)
            {
                return;
            }

            long age = Math.Max(0, now - slot.SuspendedAt);
            bySite[site] = bySite.TryGetValue(site, out var seen)
                ? (seen.Count + 1, Math.Max(seen.Oldest, age))
                : (1, age);
        });

        var groups = new List<PendingOperationGroup>(bySite.Count);
        foreach (KeyValuePair<int, (int Count, long Oldest)> entry in bySite)
        {
            SiteInfo site = sites.Get(entry.Key);
            groups.Add(new PendingOperationGroup(site.Method, site.Location, site.SourcePath, site.Line,
                site.Target.Length > 0 ? site.Target : "<unknown>", entry.Value.Count, entry.Value.Oldest));
        }

        groups.Sort(static (a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.AwaitSite, b.AwaitSite));
        return new TaskLeakSnapshot(groups);
    }
}
