using System.Collections.Generic;

namespace TaskLeak.Detection;

/// <summary>
/// Background stall reports without repeats: a site is reported again only when its stalled count grows past what
/// was last reported for it, and forgotten once nothing is stalled there. Called under the sweep lock.
/// </summary>
internal sealed class StallReporter
{
    private const int MaxSites = 4096;
    private readonly Dictionary<int, int> _reported = new();

    internal IReadOnlyList<StalledOperationGroup> NewlyStalled(IReadOnlyList<StalledOperationGroup> current)
    {
        var seen = new HashSet<int>();
        var fresh = new List<StalledOperationGroup>();
        foreach (StalledOperationGroup group in current)
        {
            seen.Add(group.SiteId);
            if (_reported.TryGetValue(group.SiteId, out int reported) && reported >= group.Count)
            {
                continue;
            }

            if (_reported.Count < MaxSites || _reported.ContainsKey(group.SiteId))
            {
                _reported[group.SiteId] = group.Count;
                fresh.Add(group);
            }
        }

        var gone = new List<int>();
        foreach (int site in _reported.Keys)
        {
            if (!seen.Contains(site))
            {
                gone.Add(site);
            }
        }

        foreach (int site in gone)
        {
            _reported.Remove(site);
        }

        return fresh;
    }

    internal void Reset() => _reported.Clear();
}
