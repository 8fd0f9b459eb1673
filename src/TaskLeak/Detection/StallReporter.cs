using System.Collections.Generic;

namespace TaskLeak.Detection;

/// <summary>
/// Background stall reports without repeats: a site is reported again only when its stalled count grows past what
/// was last reported for it, and forgotten once nothing is stalled there. Called under the sweep lock.
/// </summary>
internal static class StallReporter
{
    private const int MaxSites = 4096;
    private static readonly Dictionary<int, int> s_reported = new();

    internal static IReadOnlyList<StalledOperationGroup> NewlyStalled(IReadOnlyList<StalledOperationGroup> current)
    {
        var seen = new HashSet<int>();
        var fresh = new List<StalledOperationGroup>();
        foreach (StalledOperationGroup group in current)
        {
            seen.Add(group.SiteId);
            if (s_reported.TryGetValue(group.SiteId, out int reported) && reported >= group.Count)
            {
                continue;
            }

            if (s_reported.Count < MaxSites || s_reported.ContainsKey(group.SiteId))
            {
                s_reported[group.SiteId] = group.Count;
                fresh.Add(group);
            }
        }

        var gone = new List<int>();
        foreach (int site in s_reported.Keys)
        {
            if (!seen.Contains(site))
            {
                gone.Add(site);
            }
        }

        foreach (int site in gone)
        {
            s_reported.Remove(site);
        }

        return fresh;
    }

    internal static void Reset() => s_reported.Clear();
}
