using System;
using System.Collections.Generic;
using System.Text;
using TaskLeak.Tracking;

namespace TaskLeak.Detection;

/// <summary>
/// The pending snapshot with logical async stacks (Go's <c>goroutine?debug=1</c>): every live operation, grouped by its
/// await site, then by its stack above that site. A stack is read from the registry's links only (who awaits whom, the
/// causal parent, the spawn site): no task or box is touched, and nothing here is proven — every frame is live.
/// It reads one detector's registry and site tables (the default detector's for <see cref="TaskLeakDetector.Snapshot()"/>).
/// </summary>
internal static class PendingStacks
{
    // A site with many distinct stacks lists the busiest ones; the rest are still counted in the group's total.
    internal const int MaxStacksPerSite = 16;

    internal static TaskLeakSnapshot Snapshot(OperationRegistry registry, SiteRegistry sites, long minimumAgeMs)
    {
        long now = Clock.NowMilliseconds();
        var ops = new List<Op>();
        var index = new Dictionary<long, int>();
        registry.VisitLive((int slot, int generation, int site, ref Slot s) =>
        {
            long key = ProvenOperation.OperationKey(slot, generation);
            if (index.ContainsKey(key))
            {
                return;
            }

            index[key] = ops.Count;
            ops.Add(new Op(site, s.Awaits == 0 ? -1 : ProvenOperation.OperationKey(s.Awaits - 1, s.AwaitsGeneration),
                s.Parent == 0 ? -1 : ProvenOperation.OperationKey(s.Parent - 1, s.ParentGeneration), s.ParentSite, s.Origin,
                Math.Max(0, now - s.SuspendedAt)));
        });

        // up[i]: an operation suspended awaiting operation i (the "awaited by" frame above it), or -1.
        var up = new int[ops.Count];
        for (int i = 0; i < up.Length; i++)
        {
            up[i] = -1;
        }

        for (int i = 0; i < ops.Count; i++)
        {
            if (ops[i].Awaits != -1 && index.TryGetValue(ops[i].Awaits, out int awaited) && awaited != i && up[awaited] == -1)
            {
                up[awaited] = i;
            }
        }

        var bySite = new Dictionary<int, SiteGroup>();
        var chain = new List<(AsyncStackFrameKind Kind, int Site)>();
        var signature = new StringBuilder();
        for (int i = 0; i < ops.Count; i++)
        {
            if (ops[i].AgeMs < minimumAgeMs)
            {
                continue;
            }

            Chain(i, ops, up, index, chain);
            signature.Clear();
            foreach ((AsyncStackFrameKind kind, int site) in chain)
            {
                signature.Append((int)kind).Append(':').Append(site).Append(';');
            }

            if (!bySite.TryGetValue(ops[i].Site, out SiteGroup? group))
            {
                bySite[ops[i].Site] = group = new SiteGroup();
            }

            group.Add(signature.ToString(), chain, ops[i].AgeMs);
        }

        var groups = new List<PendingOperationGroup>(bySite.Count);
        foreach (KeyValuePair<int, SiteGroup> entry in bySite)
        {
            SiteInfo site = sites.Get(entry.Key);
            groups.Add(new PendingOperationGroup(site.Method, site.Location, site.SourcePath, site.Line,
                site.Target.Length > 0 ? site.Target : "<unknown>", entry.Value.Count, entry.Value.Oldest, entry.Value.ToStacks(sites)));
        }

        groups.Sort(static (a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.AwaitSite, b.AwaitSite));
        return new TaskLeakSnapshot(groups);
    }

    /// <summary>The frames above operation <paramref name="start"/>, in the order the leak report uses (see LeakLedger.ChainFrom).</summary>
    private static void Chain(int start, List<Op> ops, int[] up, Dictionary<long, int> index, List<(AsyncStackFrameKind, int)> chain)
    {
        chain.Clear();
        int top = start;
        int origin = ops[start].Origin;
        // The depth cap also ends a cycle of await links (a racy read of the registry could make one).
        for (int k = up[start]; k >= 0 && k != start && chain.Count < LeakLedger.MaxChainDepth; k = up[k])
        {
            chain.Add((AsyncStackFrameKind.AwaitedBy, ops[k].Site));
            top = k;
            if (ops[k].Origin != 0)
            {
                origin = ops[k].Origin;
            }
        }

        Op topOp = ops[top];
        bool parentInChain = topOp.Parent != -1 && index.TryGetValue(topOp.Parent, out int parent) && InChain(start, parent, up);
        if (topOp.Parent != -1 && !parentInChain && topOp.ParentSite != 0 && chain.Count < LeakLedger.MaxChainDepth)
        {
            chain.Add((AsyncStackFrameKind.CalledBy, topOp.ParentSite));
        }

        if (origin != 0)
        {
            chain.Add((AsyncStackFrameKind.StartedBy, origin));
        }
    }

    private static bool InChain(int start, int op, int[] up)
    {
        int depth = 0;
        for (int k = start; k >= 0 && depth <= LeakLedger.MaxChainDepth; k = up[k], depth++)
        {
            if (k == op)
            {
                return true;
            }
        }

        return false;
    }

    private readonly struct Op
    {
        internal Op(int site, long awaits, long parent, int parentSite, int origin, long ageMs)
        {
            Site = site;
            Awaits = awaits;
            Parent = parent;
            ParentSite = parentSite;
            Origin = origin;
            AgeMs = ageMs;
        }

        internal int Site { get; }
        internal long Awaits { get; }
        internal long Parent { get; }
        internal int ParentSite { get; }
        internal int Origin { get; }
        internal long AgeMs { get; }
    }

    private sealed class SiteGroup
    {
        private readonly Dictionary<string, (int Count, long Oldest, (AsyncStackFrameKind Kind, int Site)[] Frames)> _stacks = new();

        internal int Count { get; private set; }
        internal long Oldest { get; private set; }

        internal void Add(string signature, List<(AsyncStackFrameKind Kind, int Site)> chain, long ageMs)
        {
            Count++;
            Oldest = Math.Max(Oldest, ageMs);
            _stacks[signature] = _stacks.TryGetValue(signature, out var seen)
                ? (seen.Count + 1, Math.Max(seen.Oldest, ageMs), seen.Frames)
                : (1, ageMs, chain.ToArray());
        }

        internal IReadOnlyList<PendingStack> ToStacks(SiteRegistry sites)
        {
            var stacks = new List<PendingStack>(_stacks.Count);
            foreach (var entry in _stacks.Values)
            {
                var frames = new AsyncStackFrame[entry.Frames.Length];
                for (int i = 0; i < frames.Length; i++)
                {
                    SiteInfo site = sites.Get(entry.Frames[i].Site);
                    string method = entry.Frames[i].Kind == AsyncStackFrameKind.StartedBy && site.Target.Length > 0 ? site.Target : site.Method;
                    frames[i] = new AsyncStackFrame(entry.Frames[i].Kind, method, site.Location);
                }

                stacks.Add(new PendingStack(frames, entry.Count, entry.Oldest));
            }

            stacks.Sort(static (a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : b.OldestAgeMilliseconds.CompareTo(a.OldestAgeMilliseconds));
            return stacks.Count > MaxStacksPerSite ? stacks.GetRange(0, MaxStacksPerSite) : stacks;
        }
    }
}
