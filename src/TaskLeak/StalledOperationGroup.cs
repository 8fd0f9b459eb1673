using System.Globalization;

namespace TaskLeak;

/// <summary>
/// Suspected, still reachable: operations suspended at one await site for longer than a threshold. Their frames are
/// reachable, so nothing is proven — they may still complete (a long timer, a slow peer) or be stuck for good (a
/// completion source kept in a static and never completed). Never part of <see cref="TaskLeakReport.Leaks"/>.
/// </summary>
public sealed class StalledOperationGroup
{
    /// <summary>The label every stalled report carries.</summary>
    public const string Label = "suspected \u2014 still reachable";

    internal StalledOperationGroup(string method, string awaitSite, string? sourcePath, int line, string waitTarget, int count,
        long oldestAgeMilliseconds, int siteId)
    {
        Method = method;
        AwaitSite = awaitSite;
        SourcePath = sourcePath;
        Line = line;
        WaitTarget = waitTarget;
        Count = count;
        OldestAgeMilliseconds = oldestAgeMilliseconds;
        SiteId = siteId;
    }

    /// <summary>The suspended method as written in source (<c>Namespace.Type.Method</c>).</summary>
    public string Method { get; }

    /// <summary>The await they sit at: <c>File.cs:line</c>, or the method and IL offset without symbols.</summary>
    public string AwaitSite { get; }

    /// <summary>Full path of the source file, when known.</summary>
    public string? SourcePath { get; }

    /// <summary>Line of the await, or 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>The awaited expression as written.</summary>
    public string WaitTarget { get; }

    /// <summary>How many operations have sat here longer than the threshold.</summary>
    public int Count { get; }

    /// <summary>How long the oldest of them is known to have sat at this await.</summary>
    public long OldestAgeMilliseconds { get; }

    internal int SiteId { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        Count.ToString(CultureInfo.InvariantCulture) + " \u00d7 " + Method + " (" + AwaitSite + ") waiting on " + WaitTarget +
        " for " + OldestAgeMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms or more [" + Label + "]";
}
