using System.Collections.Generic;

namespace TaskLeak;

/// <summary>Live operations at one await site that share one logical async stack above it (still reachable: not leaks).</summary>
public sealed class PendingStack
{
    internal PendingStack(IReadOnlyList<AsyncStackFrame> asyncStack, int count, long oldestAgeMilliseconds)
    {
        AsyncStack = asyncStack;
        Count = count;
        OldestAgeMilliseconds = oldestAgeMilliseconds;
    }

    /// <summary>The frames above the site, innermost first: who awaits these operations, who called them, what spawned them. Empty for a top-level operation.</summary>
    public IReadOnlyList<AsyncStackFrame> AsyncStack { get; }

    /// <summary>How many operations have this stack.</summary>
    public int Count { get; }

    /// <summary>How long the oldest of them has been suspended (since its first suspension).</summary>
    public long OldestAgeMilliseconds { get; }
}
