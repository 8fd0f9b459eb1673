using System;
using System.Collections.Generic;
using System.Diagnostics;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// Proven leaks, aggregated by root await site. A leak that awaits another leaked operation is not a root: it is
/// counted as an awaiter of the innermost stuck await, so one dropped completion source reads as one chain.
/// Memory is bounded: at most <see cref="MaxSites"/> distinct roots and <see cref="MaxRecent"/> remembered operations.
/// </summary>
internal static class LeakLedger
{
    internal const int MaxSites = 4096;
    private const int MaxRecent = 1 << 16;
    private const int MaxChainDepth = 32;

    private static readonly object s_lock = new();
    private static readonly Dictionary<int, Accumulator> s_roots = new();
    private static readonly Dictionary<long, int> s_recentRoots = new();
    private static readonly Queue<long> s_recentOrder = new();
    private static long s_total;
    private static long s_overflow;

    internal static long TotalProven
    {
        get
        {
            lock (s_lock)
            {
                return s_total;
            }
        }
    }

    /// <summary>Records one sweep's proven operations; returns the groups that grew, with this sweep's counts.</summary>
    internal static IReadOnlyList<TaskLeakGroup> Record(List<ProvenOperation> proven)
    {
        long now = Clock.NowMilliseconds();
        var index = new Dictionary<long, int>(proven.Count);
        for (int i = 0; i < proven.Count; i++)
        {
            index[proven[i].Key] = i;
        }

        // awaitedBy[i]: one operation of this sweep that was waiting on operation i.
        var awaitedBy = new int[proven.Count];
        var isRoot = new bool[proven.Count];
        for (int i = 0; i < proven.Count; i++)
        {
            awaitedBy[i] = -1;
        }

        var lateAwaiters = new List<(int Operation, int Root)>();
        lock (s_lock)
        {
            for (int i = 0; i < proven.Count; i++)
            {
                ProvenOperation op = proven[i];
                if (op.Awaits == 0)
                {
                    isRoot[i] = true;
                    continue;
                }

                long awaitedKey = ProvenOperation.OperationKey(op.Awaits - 1, op.AwaitsGeneration);
                if (index.TryGetValue(awaitedKey, out int awaited) && awaited != i)
                {
                    if (awaitedBy[awaited] < 0)
                    {
                        awaitedBy[awaited] = i;
                    }
                }
                else if (s_recentRoots.TryGetValue(awaitedKey, out int rootSite))
                {
                    // The operation it awaited was proven in an earlier sweep (it sat in a younger generation).
                    lateAwaiters.Add((i, rootSite));
                }
                else
                {
                    isRoot[i] = true;
                }
            }

            MarkCycleRoots(proven, index, isRoot);

            var grown = new Dictionary<int, (Accumulator Accumulator, int Count)>();
            for (int i = 0; i < proven.Count; i++)
            {
                if (!isRoot[i])
                {
                    continue;
                }

                ProvenOperation op = proven[i];
                Accumulator acc = GetAccumulator(op.Site);
                int[] chain = ChainOf(i, proven, awaitedBy, out int topOrigin, out int awaiters);
                acc.Add(op, chain, op.Origin != 0 ? op.Origin : topOrigin, awaiters, now);
                s_total++;
                Remember(op.Key, acc.Site.Id);
                for (int a = awaitedBy[i], depth = 0; a >= 0 && depth < MaxChainDepth; a = awaitedBy[a], depth++)
                {
                    Remember(proven[a].Key, acc.Site.Id);
                }

                grown[acc.Site.Id] = (acc, grown.TryGetValue(acc.Site.Id, out var g) ? g.Count + 1 : 1);
            }

            foreach ((int operation, int root) in lateAwaiters)
            {
                if (s_roots.TryGetValue(root, out Accumulator? acc))
                {
                    acc.AddLateAwaiter(proven[operation]);
                    Remember(proven[operation].Key, root);
                }
            }

            var result = new List<TaskLeakGroup>(grown.Count);
            foreach ((Accumulator acc, int count) in grown.Values)
            {
                result.Add(acc.ToGroup(count));
            }

            return result;
        }
    }

    internal static TaskLeakReport Snapshot()
    {
        lock (s_lock)
        {
            var groups = new List<TaskLeakGroup>(s_roots.Count);
            foreach (Accumulator acc in s_roots.Values)
            {
                groups.Add(acc.ToGroup(acc.Count));
            }

            groups.Sort(static (a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.AwaitSite, b.AwaitSite));
            return new TaskLeakReport(groups, s_overflow);
        }
    }

    /// <summary>The groups with leaks that started inside <paramref name="scope"/>, counting only those.</summary>
    internal static TaskLeakReport SnapshotForScope(int scope)
    {
        lock (s_lock)
        {
            var groups = new List<TaskLeakGroup>();
            foreach (Accumulator acc in s_roots.Values)
            {
                TaskLeakGroup all = acc.ToGroup(acc.Count);
                int count = all.CountInScope(scope);
                if (count > 0)
                {
                    groups.Add(acc.ToGroup(count));
                }
            }

            groups.Sort(static (a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.AwaitSite, b.AwaitSite));
            return new TaskLeakReport(groups, 0);
        }
    }

    internal static void Reset()
    {
        lock (s_lock)
        {
            s_roots.Clear();
            s_recentRoots.Clear();
            s_recentOrder.Clear();
            s_total = 0;
            s_overflow = 0;
        }
    }

    private static Accumulator GetAccumulator(int site)
    {
        if (!s_roots.TryGetValue(site, out Accumulator? acc))
        {
            if (s_roots.Count >= MaxSites)
            {
                s_overflow++;
                site = 0;
                if (s_roots.TryGetValue(0, out acc))
                {
                    return acc;
                }
            }

            acc = new Accumulator(SiteRegistry.Get(site));
            s_roots[site] = acc;
        }

        return acc;
    }

    private static void Remember(long key, int rootSite)
    {
        if (s_recentRoots.ContainsKey(key))
        {
            return;
        }

        s_recentRoots[key] = rootSite;
        s_recentOrder.Enqueue(key);
        if (s_recentOrder.Count > MaxRecent)
        {
            s_recentRoots.Remove(s_recentOrder.Dequeue());
        }
    }

    // Operations that wait on each other in a cycle (A awaits B awaits A) have no innermost await: root each cycle once.
    private static void MarkCycleRoots(List<ProvenOperation> proven, Dictionary<long, int> index, bool[] isRoot)
    {
        var resolved = new bool[proven.Count];
        var seen = new HashSet<int>();
        for (int i = 0; i < proven.Count; i++)
        {
            int current = i;
            bool cycle = false;
            seen.Clear();
            while (!isRoot[current] && !resolved[current])
            {
                if (!seen.Add(current))
                {
                    cycle = true;
                    break;
                }

                ProvenOperation op = proven[current];
                if (op.Awaits == 0 || !index.TryGetValue(ProvenOperation.OperationKey(op.Awaits - 1, op.AwaitsGeneration), out int next))
                {
                    break;
                }

                current = next;
            }

            if (cycle)
            {
                isRoot[current] = true;
            }

            foreach (int visited in seen)
            {
                resolved[visited] = true;
            }
        }
    }

    private static int[] ChainOf(int root, List<ProvenOperation> proven, int[] awaitedBy, out int topOrigin, out int awaiters)
    {
        var chain = new List<int>();
        topOrigin = 0;
        awaiters = 0;
        var seen = new HashSet<int> { root };
        for (int a = awaitedBy[root]; a >= 0 && chain.Count < MaxChainDepth && seen.Add(a); a = awaitedBy[a])
        {
            chain.Add(proven[a].Site);
            awaiters++;
            if (proven[a].Origin != 0)
            {
                topOrigin = proven[a].Origin;
            }
        }

        return chain.ToArray();
    }

    /// <summary>Everything the ledger keeps for one root await site.</summary>
    private sealed class Accumulator
    {
        private const int MaxScopes = 1024;
        private string? _creationStack;
        private Type? _targetType;
        private int[] _chain = Array.Empty<int>();
        private int _origin;
        private long _age;
        private Dictionary<int, int>? _scopes;

        internal Accumulator(SiteInfo site) => Site = site;

        internal SiteInfo Site { get; }
        internal int Count { get; private set; }
        internal int Awaiters { get; private set; }

        internal void Add(ProvenOperation op, int[] chain, int origin, int awaiters, long now)
        {
            Count++;
            Awaiters += awaiters;
            if (_creationStack is null && op.CreationStack is StackTrace stack)
            {
                _creationStack = Reporting.StackFormatter.Format(stack);
            }

            _targetType ??= op.TargetType;
            if (_chain.Length == 0 && chain.Length > 0)
            {
                _chain = chain;
            }

            if (_origin == 0)
            {
                _origin = origin;
            }

            if (_age == 0)
            {
                _age = Math.Max(1, now - op.SuspendedAt);
            }

            if (op.Scope != 0)
            {
                _scopes ??= new Dictionary<int, int>();
                if (_scopes.Count < MaxScopes || _scopes.ContainsKey(op.Scope))
                {
                    _scopes[op.Scope] = _scopes.TryGetValue(op.Scope, out int n) ? n + 1 : 1;
                }
            }
        }

        internal void AddLateAwaiter(ProvenOperation op)
        {
            Awaiters++;
            if (_chain.Length == 0)
            {
                _chain = new[] { op.Site };
            }

            if (_origin == 0)
            {
                _origin = op.Origin;
            }
        }

        internal TaskLeakGroup ToGroup(int count)
        {
            var awaitedBy = new string[_chain.Length];
            for (int i = 0; i < _chain.Length; i++)
            {
                SiteInfo awaiter = SiteRegistry.Get(_chain[i]);
                awaitedBy[i] = awaiter.Method + " (" + awaiter.Location + ")";
            }

            string? startedBy = null;
            if (_origin != 0)
            {
                SiteInfo spawn = SiteRegistry.Get(_origin);
                startedBy = spawn.Target + " at " + spawn.Location;
            }

            string waitTarget = Site.Target.Length > 0 ? Site.Target : "<unknown>";
            if (_targetType is not null)
            {
                waitTarget += " (" + Reporting.TypeNames.Format(_targetType) + ")";
            }

            Dictionary<int, int>? scopes = _scopes is null ? null : new Dictionary<int, int>(_scopes);
            return new TaskLeakGroup(Site.Method, Site.Location, Site.SourcePath, Site.Line, waitTarget, _creationStack, count,
                awaitedBy, startedBy, _age, Site.Detail, scopes);
        }
    }
}
