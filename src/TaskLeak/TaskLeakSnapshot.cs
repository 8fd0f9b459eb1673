using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace TaskLeak;

/// <summary>
/// The operations suspended right now, grouped by the await site they are suspended at: the counterpart of Go's
/// goroutine profile. Nothing here is a leak: these frames are still reachable (or not yet collected).
/// </summary>
public sealed class TaskLeakSnapshot
{
    internal TaskLeakSnapshot(IReadOnlyList<PendingOperationGroup> groups)
    {
        Groups = groups;
        int total = 0;
        foreach (PendingOperationGroup group in groups)
        {
            total += group.Count;
        }

        TotalCount = total;
    }

    /// <summary>One group per await site, most operations first.</summary>
    public IReadOnlyList<PendingOperationGroup> Groups { get; }

    /// <summary>The number of suspended operations across all groups.</summary>
    public int TotalCount { get; }

    /// <summary>The snapshot as JSON (schema version 1, <c>"kind": "taskleak.snapshot"</c>, documented in the README).</summary>
    public string ToJson() => Reporting.ReportJson.Format(this);

    /// <inheritdoc/>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("TaskLeak: ").Append(TotalCount).Append(" suspended async operation(s) at ").Append(Groups.Count).Append(" site(s)\n");
        text.Append("     count  oldest(ms)  site\n");
        foreach (PendingOperationGroup group in Groups)
        {
            text.Append(group.Count.ToString(CultureInfo.InvariantCulture).PadLeft(10))
                .Append(group.OldestAgeMilliseconds.ToString(CultureInfo.InvariantCulture).PadLeft(12))
                .Append("  ").Append(group.Method).Append(" (").Append(group.AwaitSite).Append(") waiting on ")
                .Append(group.WaitTarget).Append('\n');
            foreach (PendingStack stack in group.Stacks)
            {
                if (stack.AsyncStack.Count == 0 && group.Stacks.Count == 1)
                {
                    continue;
                }

                text.Append("                        ").Append(stack.Count.ToString(CultureInfo.InvariantCulture)).Append(" with oldest ")
                    .Append(stack.OldestAgeMilliseconds.ToString(CultureInfo.InvariantCulture)).Append(" ms")
                    .Append(stack.AsyncStack.Count == 0 ? " (top level)" : ":").Append('\n');
                foreach (AsyncStackFrame frame in stack.AsyncStack)
                {
                    text.Append("                          ").Append(frame).Append('\n');
                }
            }
        }

        return text.ToString();
    }
}

/// <summary>Operations suspended at one await site.</summary>
public sealed class PendingOperationGroup
{
    internal PendingOperationGroup(string method, string awaitSite, string? sourcePath, int line, string waitTarget, int count,
        long oldestAgeMilliseconds, IReadOnlyList<PendingStack>? stacks = null)
    {
        Stacks = stacks ?? System.Array.Empty<PendingStack>();
        Method = method;
        AwaitSite = awaitSite;
        SourcePath = sourcePath;
        Line = line;
        WaitTarget = waitTarget;
        Count = count;
        OldestAgeMilliseconds = oldestAgeMilliseconds;
    }

    /// <summary>The suspended method as written in source (<c>Namespace.Type.Method</c>).</summary>
    public string Method { get; }

    /// <summary>The await it is suspended at: <c>File.cs:line</c>, or the method and IL offset without symbols.</summary>
    public string AwaitSite { get; }

    /// <summary>Full path of the source file, when known.</summary>
    public string? SourcePath { get; }

    /// <summary>Line of the await, or 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>The awaited expression as written.</summary>
    public string WaitTarget { get; }

    /// <summary>How many operations are suspended here.</summary>
    public int Count { get; }

    /// <summary>How long the oldest of them has been suspended.</summary>
    public long OldestAgeMilliseconds { get; }

    /// <summary>
    /// The operations' logical async stacks above this site, most common first (at most 16 listed; <see cref="Count"/>
    /// counts all). Filled by <see cref="TaskLeakDetector.Snapshot()"/>; empty in a scope's snapshot.
    /// </summary>
    public IReadOnlyList<PendingStack> Stacks { get; }

    /// <inheritdoc/>
    public override string ToString() => Count + " \u00d7 " + Method + " (" + AwaitSite + ") waiting on " + WaitTarget;
}
