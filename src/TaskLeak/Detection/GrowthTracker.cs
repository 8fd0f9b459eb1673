using System;
using System.Collections.Generic;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// The growing-sites tier: per await site, the count of live suspended operations at each sweep. A site whose count
/// rose at <c>sweeps</c> consecutive sweeps (equal counts neither extend nor break a streak; a fall breaks it) by at
/// least <c>minimumIncrease</c> in total is growing — Go's "watch the goroutine count over time", done per site.
/// Reported once per streak. Called under the sweep lock; arrays are indexed by site id and capped.
/// </summary>
internal sealed class GrowthTracker
{
    internal const int MaxSites = 1 << 16;

    private int[] _last = Array.Empty<int>();
    private int[] _streak = Array.Empty<int>();
    private int[] _streakStart = Array.Empty<int>();
    private bool[] _reported = Array.Empty<bool>();
    private readonly List<GrowingSite> _growing = new();
    private readonly object _lock = new();

    /// <summary>A counting array for the next sweep, sized to the sites registered so far, or null when the tier is off.</summary>
    private readonly SiteRegistry _sites;

    internal GrowthTracker(SiteRegistry sites) => _sites = sites;

    internal int[]? NewCounts(int sweeps) => sweeps <= 0 ? null : new int[Math.Min(MaxSites, _sites.IdLimit)];

    /// <summary>The sites growing as of the last sweep.</summary>
    internal IReadOnlyList<GrowingSite> Current
    {
        get
        {
            lock (_lock)
            {
                return _growing.ToArray();
            }
        }
    }

    /// <summary>Takes one sweep's live counts; returns the sites that just became growing.</summary>
    internal IReadOnlyList<GrowingSite> Observe(int[] counts, int sweeps, int minimumIncrease)
    {
        Grow(counts.Length);
        var fresh = new List<GrowingSite>();
        var growing = new List<GrowingSite>();
        for (int site = 0; site < _last.Length; site++)
        {
            int count = site < counts.Length ? counts[site] : 0;
            int last = _last[site];
            if (count > last)
            {
                if (_streak[site] == 0)
                {
                    _streakStart[site] = last;
                }

                _streak[site]++;
            }
            else if (count < last)
            {
                _streak[site] = 0;
                _reported[site] = false;
            }

            _last[site] = count;
            int increase = count - _streakStart[site];
            if (_streak[site] >= sweeps && increase >= minimumIncrease)
            {
                SiteInfo info = _sites.Get(site);
                var entry = new GrowingSite(info.Method, info.Location, info.Target.Length > 0 ? info.Target : "<unknown>", count,
                    increase, _streak[site]);
                growing.Add(entry);
                if (!_reported[site])
                {
                    _reported[site] = true;
                    fresh.Add(entry);
                }
            }
        }

        growing.Sort(static (a, b) => b.Increase.CompareTo(a.Increase));
        lock (_lock)
        {
            _growing.Clear();
            _growing.AddRange(growing);
        }

        return fresh;
    }

    internal void Reset()
    {
        Array.Clear(_last, 0, _last.Length);
        Array.Clear(_streak, 0, _streak.Length);
        Array.Clear(_streakStart, 0, _streakStart.Length);
        Array.Clear(_reported, 0, _reported.Length);
        lock (_lock)
        {
            _growing.Clear();
        }
    }

    private void Grow(int length)
    {
        if (length <= _last.Length)
        {
            return;
        }

        Array.Resize(ref _last, length);
        Array.Resize(ref _streak, length);
        Array.Resize(ref _streakStart, length);
        Array.Resize(ref _reported, length);
    }
}
