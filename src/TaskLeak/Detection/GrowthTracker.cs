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
internal static class GrowthTracker
{
    internal const int MaxSites = 1 << 16;

    private static int[] s_last = Array.Empty<int>();
    private static int[] s_streak = Array.Empty<int>();
    private static int[] s_streakStart = Array.Empty<int>();
    private static bool[] s_reported = Array.Empty<bool>();
    private static readonly List<GrowingSite> s_growing = new();
    private static readonly object s_lock = new();

    /// <summary>A counting array for the next sweep, sized to the sites registered so far, or null when the tier is off.</summary>
    internal static int[]? NewCounts(int sweeps) => sweeps <= 0 ? null : new int[Math.Min(MaxSites, SiteRegistry.IdLimit)];

    /// <summary>The sites growing as of the last sweep.</summary>
    internal static IReadOnlyList<GrowingSite> Current
    {
        get
        {
            lock (s_lock)
            {
                return s_growing.ToArray();
            }
        }
    }

    /// <summary>Takes one sweep's live counts; returns the sites that just became growing.</summary>
    internal static IReadOnlyList<GrowingSite> Observe(int[] counts, int sweeps, int minimumIncrease)
    {
        Grow(counts.Length);
        var fresh = new List<GrowingSite>();
        var growing = new List<GrowingSite>();
        for (int site = 0; site < s_last.Length; site++)
        {
            int count = site < counts.Length ? counts[site] : 0;
            int last = s_last[site];
            if (count > last)
            {
                if (s_streak[site] == 0)
                {
                    s_streakStart[site] = last;
                }

                s_streak[site]++;
            }
            else if (count < last)
            {
                s_streak[site] = 0;
                s_reported[site] = false;
            }

            s_last[site] = count;
            int increase = count - s_streakStart[site];
            if (s_streak[site] >= sweeps && increase >= minimumIncrease)
            {
                SiteInfo info = SiteRegistry.Get(site);
                var entry = new GrowingSite(info.Method, info.Location, info.Target.Length > 0 ? info.Target : "<unknown>", count,
                    increase, s_streak[site]);
                growing.Add(entry);
                if (!s_reported[site])
                {
                    s_reported[site] = true;
                    fresh.Add(entry);
                }
            }
        }

        growing.Sort(static (a, b) => b.Increase.CompareTo(a.Increase));
        lock (s_lock)
        {
            s_growing.Clear();
            s_growing.AddRange(growing);
        }

        return fresh;
    }

    internal static void Reset()
    {
        Array.Clear(s_last, 0, s_last.Length);
        Array.Clear(s_streak, 0, s_streak.Length);
        Array.Clear(s_streakStart, 0, s_streakStart.Length);
        Array.Clear(s_reported, 0, s_reported.Length);
        lock (s_lock)
        {
            s_growing.Clear();
        }
    }

    private static void Grow(int length)
    {
        if (length <= s_last.Length)
        {
            return;
        }

        Array.Resize(ref s_last, length);
        Array.Resize(ref s_streak, length);
        Array.Resize(ref s_streakStart, length);
        Array.Resize(ref s_reported, length);
    }
}
