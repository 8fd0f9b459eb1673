using System.Globalization;

namespace TaskLeak;

/// <summary>
/// Suspected: an await site whose number of live suspended operations kept rising across consecutive sweeps. Nothing
/// here is proven; a steady climb usually means operations pile up there faster than they complete.
/// </summary>
public sealed class GrowingSite
{
    internal GrowingSite(string method, string awaitSite, string waitTarget, int count, int increase, int sweeps)
    {
        Method = method;
        AwaitSite = awaitSite;
        WaitTarget = waitTarget;
        Count = count;
        Increase = increase;
        Sweeps = sweeps;
    }

    /// <summary>The method as written in source (<c>Namespace.Type.Method</c>).</summary>
    public string Method { get; }

    /// <summary>The await site: <c>File.cs:line</c>, or the method and IL offset without symbols.</summary>
    public string AwaitSite { get; }

    /// <summary>The awaited expression as written.</summary>
    public string WaitTarget { get; }

    /// <summary>Live suspended operations at the site at the last sweep.</summary>
    public int Count { get; }

    /// <summary>How much <see cref="Count"/> rose over the current streak.</summary>
    public int Increase { get; }

    /// <summary>Consecutive sweeps at which the count rose.</summary>
    public int Sweeps { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        Method + " (" + AwaitSite + ") waiting on " + WaitTarget + ": " + Count.ToString(CultureInfo.InvariantCulture) +
        " live, +" + Increase.ToString(CultureInfo.InvariantCulture) + " over " + Sweeps.ToString(CultureInfo.InvariantCulture) +
        " sweeps [suspected \u2014 still reachable]";
}
