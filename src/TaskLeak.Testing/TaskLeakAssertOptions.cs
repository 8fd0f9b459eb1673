using System;
using System.Collections.Generic;

namespace TaskLeak;

/// <summary>
/// Settings of one leak check: what to leave out, how hard to look, and what to do with the result. The same
/// settings can be given on a test framework's <c>[DetectTaskLeaks]</c>, whose values are the defaults of explicit
/// <c>TaskLeakAssert</c> calls in the tests it covers.
/// </summary>
public sealed class TaskLeakAssertOptions
{
    private int _collections = 3;
    private TimeSpan _stalledAfter;
    private TimeSpan _pendingTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Creates the default settings: fail, attribute to the test, three collections.</summary>
    public TaskLeakAssertOptions()
    {
    }

    /// <summary>
    /// Methods to leave out, as reported (<c>Namespace.Type.Method</c>); a trailing <c>*</c> matches a prefix
    /// (<c>MyApp.Polling.*</c>). A proven leak is left out when its method or any method awaiting it matches.
    /// </summary>
    public ICollection<string> IgnoredMethods { get; } = new List<string>();

    /// <summary>
    /// Await sites to leave out, as reported: <c>File.cs:42</c> for one await, <c>File.cs</c> for every await in that
    /// file. A proven leak is left out when its stuck await or any await in its chain matches.
    /// </summary>
    public ICollection<string> IgnoredSites { get; } = new List<string>();

    /// <summary>Which operations the test answers for; <see cref="TaskLeakAttribution.Test"/> by default.</summary>
    public TaskLeakAttribution Attribution { get; set; } = TaskLeakAttribution.Test;

    /// <summary>
    /// With <see cref="TaskLeakAttribution.Process"/>: leave out operations that were already suspended, and leaks
    /// already proven, when the test began (goleak's <c>IgnoreCurrent</c>). Counted per await site. True by default.
    /// With <see cref="TaskLeakAttribution.Test"/> nothing the test started can predate it, so this changes nothing.
    /// The starting point is recorded when the test begins if the <c>[DetectTaskLeaks]</c> covering it
    /// says <see cref="TaskLeakAttribution.Process"/>; without one, nothing is left out.
    /// </summary>
    public bool IgnorePendingAtStart { get; set; } = true;

    /// <summary>
    /// How many full blocking garbage collections to force before sweeping (3 by default, as
    /// <see cref="TaskLeakDetector.DetectNow"/>). 0 forces none: only what earlier collections reclaimed is proven.
    /// </summary>
    public int Collections
    {
        get => _collections;
        set => _collections = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Collections cannot be negative.");
    }

    /// <summary>
    /// For pending checks: report only await sites whose oldest operation has been suspended at least this long
    /// (the stalled tier). Zero, the default, reports every operation still suspended.
    /// </summary>
    public TimeSpan StalledAfter
    {
        get => _stalledAfter;
        set => _stalledAfter = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "StalledAfter cannot be negative.");
    }

    /// <summary>
    /// For pending checks: how long to wait for operations that are still finishing (a continuation queued just before
    /// the test returned) before reporting them. The check returns as soon as nothing is left. One second by default.
    /// </summary>
    public TimeSpan PendingTimeout
    {
        get => _pendingTimeout;
        set => _pendingTimeout = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "PendingTimeout cannot be negative.");
    }

    /// <summary>Fail the test (the default) or give it a warning.</summary>
    public TaskLeakAction Action { get; set; } = TaskLeakAction.Fail;

    /// <summary>A copy: changing it leaves these settings as they are.</summary>
    /// <returns>The copy.</returns>
    public TaskLeakAssertOptions Clone()
    {
        var copy = new TaskLeakAssertOptions
        {
            Attribution = Attribution,
            IgnorePendingAtStart = IgnorePendingAtStart,
            Collections = Collections,
            StalledAfter = StalledAfter,
            PendingTimeout = PendingTimeout,
            Action = Action,
        };
        foreach (string method in IgnoredMethods)
        {
            copy.IgnoredMethods.Add(method);
        }

        foreach (string site in IgnoredSites)
        {
            copy.IgnoredSites.Add(site);
        }

        return copy;
    }
}
