using System;
using System.Collections.Generic;
using System.Diagnostics;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// Proven leaks, aggregated by root await site: the innermost stuck await. An operation stuck on another proven
/// operation is not a root but one of its awaiters, so one dropped completion source under a chain of awaits reads as
/// one leak. Two edges lead down a chain: "awaits" (the awaited object was the other operation's proof) and, when an
/// operation's own wait is opaque (a struct awaiter such as a ValueTask), "parent of" (the other operation first
/// suspended while this one's MoveNext was running). Cycles are broken at one member; walks are depth-capped.
/// Memory is bounded: at most <see cref="MaxSites"/> distinct roots (then one overflow group), one example per group,
/// and at most <see cref="MaxRecent"/> remembered operations for awaiters proven in a later sweep.
/// </summary>
internal sealed class LeakLedger
{
    internal const int MaxSites = 4096;
    internal const int MaxRecent = 1 << 16;
    internal const int MaxChainDepth = 32;
    private const int MaxWalk = 1024;

    private readonly object _lock = new();
    private readonly Book _book;
    private readonly SiteRegistry _sites;

    internal LeakLedger(SiteRegistry sites, int recent = MaxRecent)
    {
        _sites = sites;
        _book = new Book(recent);
    }

    internal long TotalProven
    {
        get
        {
            lock (_lock)
            {
                return _book.Total;
            }
        }
    }

    /// <summary>Distinct groups and remembered operations: what the caps bound.</summary>
    internal (int Sites, int Remembered) Size
    {
        get
        {
            lock (_lock)
            {
                return (_book.Roots.Count, _book.RecentRoots.Count + _book.RecentParents.Count);
            }
        }
    }

    /// <summary>
    /// Records one sweep's proven operations; returns the groups that grew, with this sweep's counts. Sites whose leak
    /// came without a creation stack are added to <paramref name="stackless"/> (the owner re-arms their captures: the
    /// ledger never writes to tracking).
    /// </summary>
    internal IReadOnlyList<TaskLeakGroup> Record(List<ProvenOperation> proven, List<int>? stackless = null)
    {
        lock (_lock)
        {
            return RecordLocked(proven, stackless);
        }
    }

    /// <summary>
    /// Runs the grouping and the report building once on made-up operations and a scratch book (the real one is not
    /// touched), so that the first real leak of the process does not pay for compiling them.
    /// </summary>
    internal static void Warm(object? creationStack)
    {
        var proven = new List<ProvenOperation>
        {
            new(0, 0, 0, 0, 0, 0, 0, 0, typeof(object), creationStack: creationStack),
            new(1, 0, 0, 1, 0, 0, 0, 0, typeof(object)),
            new(2, 0, 0, 0, 0, 2, 0, 0, null, origin: 0),
            new(3, 0, 0, 0, 0, 0, 0, 0, null),
        };
        var ledger = new LeakLedger(new SiteRegistry(), 16);
        foreach (TaskLeakGroup group in ledger.Record(proven))
        {
            _ = group.ToString();
        }

        foreach (Accumulator acc in ledger._book.Roots.Values)
        {
            _ = acc.ToGroup(acc.Count).ToString();
        }
    }

    private IReadOnlyList<TaskLeakGroup> RecordLocked(List<ProvenOperation> proven, List<int>? stackless)
    {
        System.Diagnostics.Debug.Assert(System.Threading.Monitor.IsEntered(_lock), "the book is written under the ledger's lock");
        Book book = _book;
        long now = Clock.NowMilliseconds();
        int n = proven.Count;
        var index = new Dictionary<long, int>(n);
        for (int i = 0; i < n; i++)
        {
            index[proven[i].Key] = i;
        }

        var firstChild = new Dictionary<long, int>();
        for (int i = 0; i < n; i++)
        {
            long parent = proven[i].ParentKey;
            if (parent != -1 && index.ContainsKey(parent) && !firstChild.ContainsKey(parent))
            {
                firstChild[parent] = i;
            }
        }

        var down = new int[n];
        var downKind = new AsyncStackFrameKind[n];
        var lateRoot = new int[n];
        {
            for (int i = 0; i < n; i++)
            {
                down[i] = -1;
                ProvenOperation op = proven[i];
                if (op.Awaits != 0)
                {
                    downKind[i] = AsyncStackFrameKind.AwaitedBy;
                    if (index.TryGetValue(op.AwaitsKey, out int awaited) && awaited != i)
                    {
                        down[i] = awaited;
                    }
                    else if (book.RecentRoots.TryGetValue(op.AwaitsKey, out int site))
                    {
                        lateRoot[i] = site;
                    }
                }
                else if (op.TargetType is null)
                {
                    downKind[i] = AsyncStackFrameKind.CalledBy;
                    if (firstChild.TryGetValue(op.Key, out int child) && child != i)
                    {
                        down[i] = child;
                    }
                    else if (book.RecentParents.TryGetValue(op.Key, out int site))
                    {
                        lateRoot[i] = site;
                    }
                }
            }

            int[] rootOf = ResolveRoots(down);
            var up = new int[n];
            var members = new int[n];
            for (int i = 0; i < n; i++)
            {
                up[i] = -1;
            }

            for (int i = 0; i < n; i++)
            {
                members[rootOf[i]]++;
                if (down[i] >= 0 && up[down[i]] < 0)
                {
                    up[down[i]] = i;
                }
            }

            var grown = new Dictionary<int, (Accumulator Accumulator, int Count)>();
            var groupOf = new int[n];
            for (int r = 0; r < n; r++)
            {
                if (rootOf[r] != r)
                {
                    continue;
                }

                ProvenOperation root = proven[r];
                if (lateRoot[r] != 0 && book.Roots.TryGetValue(lateRoot[r], out Accumulator? late))
                {
                    // Stuck on an operation an earlier sweep proved (it sat in a younger generation): more awaiters of that leak.
                    groupOf[r] = late.Site.Id;
                    late.AddAwaiters(members[r], () => ChainFrom(r, includeSelf: true, proven, up, downKind, index, rootOf));
                    continue;
                }

                Accumulator acc = GetAccumulator(book, root.Site);
                groupOf[r] = acc.Site.Id;
                acc.Add(root, members[r] - 1, now, () => ChainFrom(r, includeSelf: false, proven, up, downKind, index, rootOf), stackless);
                book.Total++;
                grown[acc.Site.Id] = (acc, grown.TryGetValue(acc.Site.Id, out var g) ? g.Count + 1 : 1);
            }

            for (int i = 0; i < n; i++)
            {
                int group = groupOf[rootOf[i]];
                book.RecentRoots.Add(proven[i].Key, group);
                if (proven[i].ParentKey != -1)
                {
                    book.RecentParents.Add(proven[i].ParentKey, group);
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

    internal TaskLeakReport Snapshot()
    {
        lock (_lock)
        {
            var groups = new List<TaskLeakGroup>(_book.Roots.Count);
            foreach (Accumulator acc in _book.Roots.Values)
            {
                groups.Add(acc.ToGroup(acc.Count));
            }

            Sort(groups);
            return new TaskLeakReport(groups, _book.Overflow);
        }
    }

    /// <summary>The groups with leaks that started inside <paramref name="scope"/>, counting only those.</summary>
    internal TaskLeakReport SnapshotForScope(int scope)
    {
        lock (_lock)
        {
            var groups = new List<TaskLeakGroup>();
            foreach (Accumulator acc in _book.Roots.Values)
            {
                int count = acc.CountInScope(scope);
                if (count > 0)
                {
                    groups.Add(acc.ToGroup(count));
                }
            }

            Sort(groups);
            return new TaskLeakReport(groups, 0);
        }
    }

    internal void Reset()
    {
        lock (_lock)
        {
            _book.Roots.Clear();
            _book.RecentRoots.Clear();
            _book.RecentParents.Clear();
            _book.Total = 0;
            _book.Overflow = 0;
        }
    }

    private static void Sort(List<TaskLeakGroup> groups) =>
        groups.Sort(static (a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.AwaitSite, b.AwaitSite));

    /// <summary>
    /// Follows each operation's single down edge to the operation it is stuck on. The first member of a cycle that a
    /// walk meets again becomes the cycle's root; a walk longer than <see cref="MaxWalk"/> is cut into its own root.
    /// O(n): every operation is walked once.
    /// </summary>
    private static int[] ResolveRoots(int[] down)
    {
        int n = down.Length;
        var rootOf = new int[n];
        var state = new byte[n];
        var path = new List<int>();
        for (int i = 0; i < n; i++)
        {
            if (state[i] == 2)
            {
                continue;
            }

            path.Clear();
            int current = i;
            int root;
            while (true)
            {
                if (state[current] == 2)
                {
                    root = rootOf[current];
                    break;
                }

                if (state[current] == 1)
                {
                    down[current] = -1;
                    root = current;
                    break;
                }

                state[current] = 1;
                path.Add(current);
                if (down[current] < 0 || path.Count >= MaxWalk)
                {
                    down[current] = -1;
                    root = current;
                    break;
                }

                current = down[current];
            }

            foreach (int member in path)
            {
                rootOf[member] = root;
                state[member] = 2;
            }
        }

        return rootOf;
    }

    /// <summary>The logical async stack above <paramref name="start"/>: its awaiters and callers, then where it all was spawned.</summary>
    private static ChainLink[] ChainFrom(int start, bool includeSelf, List<ProvenOperation> proven, int[] up, AsyncStackFrameKind[] downKind,
        Dictionary<long, int> index, int[] rootOf)
    {
        var links = new List<ChainLink>();
        int top = start;
        int origin = proven[start].Origin;
        if (includeSelf)
        {
            links.Add(new ChainLink(downKind[start], proven[start].Site));
        }

        for (int k = up[start]; k >= 0 && links.Count < MaxChainDepth; k = up[k])
        {
            links.Add(new ChainLink(downKind[k], proven[k].Site));
            top = k;
            if (proven[k].Origin != 0)
            {
                origin = proven[k].Origin;
            }
        }

        ProvenOperation topOp = proven[top];
        bool parentInChain = index.TryGetValue(topOp.ParentKey, out int parent) && rootOf[parent] == rootOf[start];
        if (topOp.ParentKey != -1 && !parentInChain && topOp.ParentSite != 0 && links.Count < MaxChainDepth)
        {
            links.Add(new ChainLink(AsyncStackFrameKind.CalledBy, topOp.ParentSite));
        }

        if (origin != 0)
        {
            links.Add(new ChainLink(AsyncStackFrameKind.StartedBy, origin));
        }

        return links.ToArray();
    }

    private Accumulator GetAccumulator(Book book, int site)
    {
        if (!book.Roots.TryGetValue(site, out Accumulator? acc))
        {
            if (book.Roots.Count >= MaxSites)
            {
                book.Overflow++;
                site = 0;
                if (book.Roots.TryGetValue(0, out acc))
                {
                    return acc;
                }
            }

            acc = new Accumulator(_sites.Get(site), _sites);
            book.Roots[site] = acc;
        }

        return acc;
    }

    /// <summary>What the ledger remembers: the groups by root site and the recently proven operations.</summary>
    private sealed class Book
    {
        internal Book(int recent)
        {
            RecentRoots = new BoundedMap(recent);
            RecentParents = new BoundedMap(recent);
        }

        internal Dictionary<int, Accumulator> Roots { get; } = new();
        internal BoundedMap RecentRoots { get; }
        internal BoundedMap RecentParents { get; }
        internal long Total { get; set; }
        internal long Overflow { get; set; }
    }

    private readonly struct ChainLink
    {
        internal ChainLink(AsyncStackFrameKind kind, int site)
        {
            Kind = kind;
            Site = site;
        }

        internal AsyncStackFrameKind Kind { get; }
        internal int Site { get; }
    }

    /// <summary>A map from operation key to root site that forgets its oldest entries beyond a fixed size.</summary>
    private sealed class BoundedMap
    {
        private readonly int _capacity;
        private readonly Dictionary<long, int> _map = new();
        private readonly Queue<long> _order = new();

        internal BoundedMap(int capacity) => _capacity = capacity;

        internal int Count => _map.Count;

        internal bool TryGetValue(long key, out int value) => _map.TryGetValue(key, out value);

        internal void Add(long key, int value)
        {
            if (_map.ContainsKey(key))
            {
                _map[key] = value;
                return;
            }

            _map[key] = value;
            _order.Enqueue(key);
            if (_order.Count > _capacity)
            {
                _map.Remove(_order.Dequeue());
            }
        }

        internal void Clear()
        {
            _map.Clear();
            _order.Clear();
        }
    }

    /// <summary>Everything the ledger keeps for one root await site: counts and one example.</summary>
    private sealed class Accumulator
    {
        private const int MaxScopes = 1024;
        private readonly SiteRegistry _sites;
        private string? _creationStack;

        // A name, never the Type: a ledger that kept a user type would keep a collectible AssemblyLoadContext loaded forever.
        private string? _targetType;
        private ChainLink[]? _chain;
        private long _age;
        private Dictionary<int, int>? _scopes;

        internal Accumulator(SiteInfo site, SiteRegistry sites)
        {
            Site = site;
            _sites = sites;
        }

        internal SiteInfo Site { get; }
        internal int Count { get; private set; }
        internal long Awaiters { get; private set; }

        internal void Add(ProvenOperation op, int awaiters, long now, Func<ChainLink[]> chain, List<int>? stackless)
        {
            Count++;
            Awaiters += awaiters;
            if (_creationStack is null)
            {
                if (op.CreationStack is StackTrace stack)
                {
                    _creationStack = Reporting.StackFormatter.Format(stack);
                }
                else
                {
                    stackless?.Add(op.FirstSite);
                }
            }

            if (_targetType is null && op.TargetType is not null)
            {
                _targetType = Reporting.TypeNames.Format(op.TargetType);
            }
            if (_chain is null || _chain.Length == 0)
            {
                _chain = chain();
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
                    _scopes[op.Scope] = _scopes.TryGetValue(op.Scope, out int count) ? count + 1 : 1;
                }
            }
        }

        internal void AddAwaiters(int count, Func<ChainLink[]> chain)
        {
            Awaiters += count;
            if (_chain is null || _chain.Length == 0)
            {
                _chain = chain();
            }
        }

        internal int CountInScope(int scope) => _scopes is not null && _scopes.TryGetValue(scope, out int count) ? count : 0;

        internal TaskLeakGroup ToGroup(int count)
        {
            ChainLink[] chain = _chain ?? Array.Empty<ChainLink>();
            var stack = new AsyncStackFrame[chain.Length];
            for (int i = 0; i < chain.Length; i++)
            {
                SiteInfo site = _sites.Get(chain[i].Site);
                string method = chain[i].Kind == AsyncStackFrameKind.StartedBy && site.Target.Length > 0 ? site.Target : site.Method;
                stack[i] = new AsyncStackFrame(chain[i].Kind, method, site.Location);
            }

            string waitTarget = Site.Target.Length > 0 ? Site.Target : "<unknown>";
            if (_targetType is not null)
            {
                waitTarget += " (" + _targetType + ")";
            }

            Dictionary<int, int>? scopes = _scopes is null ? null : new Dictionary<int, int>(_scopes);
            return new TaskLeakGroup(Site.Method, Site.Location, Site.SourcePath, Site.Line, waitTarget, _creationStack, count,
                Awaiters > int.MaxValue ? int.MaxValue : (int)Awaiters, stack, _age, Site.Detail, scopes) { SiteId = Site.Id };
        }
    }
}
