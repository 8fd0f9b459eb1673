using System;
using System.Collections.Generic;
using System.Text;

namespace TaskLeak;

/// <summary>
/// Proven leaks that share a root await site: the innermost await their suspended frames were stuck at when the
/// garbage collector reclaimed them. Operations that were waiting on these (the logical async stack above) are
/// reported in <see cref="AwaitedBy"/>, not as separate groups.
/// </summary>
public sealed class TaskLeakGroup
{
    private readonly IReadOnlyDictionary<int, int>? _scopes;

    internal TaskLeakGroup(string method, string awaitSite, string? sourcePath, int line, string waitTarget,
        string? creationStack, int count, int awaiterCount, IReadOnlyList<AsyncStackFrame> asyncStack, long ageMilliseconds,
        string detail, IReadOnlyDictionary<int, int>? scopes)
    {
        Method = method;
        AwaitSite = awaitSite;
        SourcePath = sourcePath;
        Line = line;
        WaitTarget = waitTarget;
        CreationStack = creationStack;
        Count = count;
        AwaiterCount = awaiterCount;
        AsyncStack = asyncStack;
        var awaitedBy = new List<string>(asyncStack.Count);
        foreach (AsyncStackFrame frame in asyncStack)
        {
            if (frame.Kind == AsyncStackFrameKind.StartedBy)
            {
                StartedBy ??= frame.Method + " at " + frame.Location;
            }
            else
            {
                awaitedBy.Add(frame.Method + " (" + frame.Location + ")");
            }
        }

        AwaitedBy = awaitedBy;
        AgeMilliseconds = ageMilliseconds;
        Detail = detail;
        _scopes = scopes;
    }

    /// <summary>The root site's id in its detector (publication merges groups of one site).</summary>
    internal int SiteId { get; set; }

    /// <summary>This group with another count (publication merges the groups of sweeps a slow sink has not seen yet).</summary>
    internal TaskLeakGroup WithCount(int count) =>
        new(Method, AwaitSite, SourcePath, Line, WaitTarget, CreationStack, count, AwaiterCount, AsyncStack, AgeMilliseconds, Detail, _scopes)
        {
            SiteId = SiteId,
        };

    /// <summary>The leaked method as written in source (<c>Namespace.Type.Method</c>); lambdas and local functions carry their containing method's name.</summary>
    public string Method { get; }

    /// <summary>The stuck await: <c>File.cs:line</c>, or the method and IL offset when the assembly had no symbols.</summary>
    public string AwaitSite { get; }

    /// <summary>Full path of the source file from the symbols, when known.</summary>
    public string? SourcePath { get; }

    /// <summary>Line of the stuck await, or 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>What the frame was waiting on: the awaited expression as written, and its runtime type when it was an object.</summary>
    public string WaitTarget { get; }

    /// <summary>The stack at the operation's first suspension (its synchronous callers), when one was captured.</summary>
    public string? CreationStack { get; }

    /// <summary>How many operations leaked here.</summary>
    public int Count { get; }

    /// <summary>
    /// The operations above the root in the example's logical async stack, innermost first, as
    /// <c>Namespace.Type.Method (File.cs:line)</c>: its awaiters and callers (see <see cref="AsyncStack"/> for which is which).
    /// </summary>
    public IReadOnlyList<string> AwaitedBy { get; }

    /// <summary>
    /// The example's logical async stack above the root, innermost first: who awaited it, who called it, and the spawn
    /// call that started it. Depth-capped at 32 frames.
    /// </summary>
    public IReadOnlyList<AsyncStackFrame> AsyncStack { get; }

    /// <summary>Leaked operations, across all of <see cref="Count"/>, that were stuck awaiting (or calling) these roots and were folded into this group.</summary>
    public int AwaiterCount { get; }

    /// <summary>The spawn site that started the work, e.g. <c>Task.Run at Program.cs:8</c>, when known.</summary>
    public string? StartedBy { get; }

    /// <summary>How long an example operation had been suspended when its frame was found collected.</summary>
    public long AgeMilliseconds { get; }

    /// <summary>Where the await sits inside <see cref="Method"/>: <c>lambda</c>, <c>local function Name</c>, or empty.</summary>
    public string Detail { get; }

    /// <summary>The logical async stack as one line: <c>Leaf (File.cs:12) ← awaited by Mid (File.cs:30) ← started by Task.Run at Program.cs:8</c>.</summary>
    public string Chain
    {
        get
        {
            var builder = new StringBuilder();
            builder.Append(Method).Append(" (").Append(AwaitSite).Append(')');
            foreach (AsyncStackFrame frame in AsyncStack)
            {
                builder.Append(" \u2190 ").Append(frame);
            }

            return builder.ToString();
        }
    }

    /// <summary>How many of <see cref="Count"/> were started inside the given leak scope.</summary>
    internal int CountInScope(int scope) => _scopes is not null && _scopes.TryGetValue(scope, out int n) ? n : 0;

    /// <inheritdoc/>
    public override string ToString() => Count + " \u00d7 " + Chain + " awaiting " + WaitTarget;
}
