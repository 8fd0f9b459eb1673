using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace TaskLeak.Testing;

/// <summary>Runs one check: collect and sweep, then read the leaks (and pending operations) the test answers for.</summary>
internal static class LeakCheck
{
    private const int MaxPollMilliseconds = 50;

    /// <param name="scope">The test's scope: its operations, and the sweep's entry point.</param>
    /// <param name="options">What to leave out and how hard to look.</param>
    /// <param name="pending">Also report operations still suspended (NoPendingOperations, the stalled tier).</param>
    /// <param name="baseline">What the process had when the test began, for <see cref="TaskLeakAttribution.Process"/>.</param>
    /// <param name="reported">Leaks an earlier check of the same test already reported, per site: not reported twice.</param>
    /// <param name="testMethod">
    /// The test's <c>Namespace.Type.Method</c>, to tell whether a site's example stack is the test's own; null when an
    /// explicit scope, not the current test, is checked.
    /// </param>
    internal static LeakFindings Run(TaskLeakScope scope, TaskLeakAssertOptions options, bool pending, Baseline? baseline,
        IReadOnlyDictionary<string, long>? reported, string? testMethod)
    {
        var filter = new LeakFilter(options);
        bool process = options.Attribution == TaskLeakAttribution.Process;
        Baseline start = process && options.IgnorePendingAtStart ? baseline ?? Baseline.Empty : Baseline.Empty;

        scope.DetectNow(options.Collections);
        var stillPending = new List<(PendingOperationGroup Group, long Count)>();
        if (pending)
        {
            long minimumAge = (long)options.StalledAfter.TotalMilliseconds;
            ReadPending(scope, process, start, filter, minimumAge, stillPending);
            if (stillPending.Count > 0 && options.PendingTimeout > TimeSpan.Zero)
            {
                // Work that is merely finishing (a continuation queued as the test returned) drains quickly; a stuck
                // operation never does. Poll until nothing is left or the timeout passes, then look once more, after
                // collecting: some of what stayed may have become garbage, which makes it a leak, not a pending one.
                var clock = Stopwatch.StartNew();
                int pause = 1;
                while (stillPending.Count > 0 && clock.Elapsed < options.PendingTimeout)
                {
                    Thread.Sleep(pause);
                    pause = Math.Min(pause * 2, MaxPollMilliseconds);
                    ReadPending(scope, process, start, filter, minimumAge, stillPending);
                }

                if (stillPending.Count > 0)
                {
                    scope.DetectNow(options.Collections);
                    ReadPending(scope, process, start, filter, minimumAge, stillPending);
                }
            }
        }

        var leaks = new List<LeakFinding>();
        TaskLeakReport report = process ? TaskLeakDetector.GetReport() : scope.GetLeaks();
        Dictionary<string, long>? everywhere = null;
        foreach (TaskLeakGroup group in report.Leaks)
        {
            string key = SiteKey.Of(group);
            // Per site, the conservative reading: operations suspended there when the test began may be the ones
            // proven now, so they are not blamed on it.
            long count = group.Count - Baseline.Get(start.Leaks, key) - Baseline.Get(start.Pending, key) - Baseline.Get(reported, key);
            if (count <= 0 || filter.IsIgnored(group))
            {
                continue;
            }

            // The ledger keeps one example (creation stack, chain) per site: when others leaked at the same site it
            // may be theirs. A stack that runs through the test method is the test's own whatever the count says.
            everywhere ??= CountsEverywhere();
            bool shared = Baseline.Get(everywhere, key) > count
                && !(testMethod is not null && group.CreationStack is { } stack && stack.Contains(testMethod, StringComparison.Ordinal));
            leaks.Add(new LeakFinding(group, count, shared));
        }

        string whose = process ? (start == Baseline.Empty ? "in this process" : "in this process since the test began")
            : testMethod is not null ? "started by this test" : "started in scope '" + scope.Name + "'";
        return new LeakFindings(leaks, stillPending, whose, testMethod);
    }

    private static Dictionary<string, long> CountsEverywhere()
    {
        var counts = new Dictionary<string, long>();
        foreach (TaskLeakGroup group in TaskLeakDetector.GetReport().Leaks)
        {
            Baseline.Add(counts, SiteKey.Of(group), group.Count);
        }

        return counts;
    }

    private static void ReadPending(TaskLeakScope scope, bool process, Baseline start, LeakFilter filter, long minimumAge,
        List<(PendingOperationGroup Group, long Count)> into)
    {
        into.Clear();
        TaskLeakSnapshot snapshot = process ? TaskLeakDetector.Snapshot() : scope.GetPending();
        foreach (PendingOperationGroup group in snapshot.Groups)
        {
            long count = group.Count - Baseline.Get(start.Pending, SiteKey.Of(group));
            if (count > 0 && group.OldestAgeMilliseconds >= minimumAge && !filter.IsIgnored(group))
            {
                into.Add((group, count));
            }
        }
    }
}
