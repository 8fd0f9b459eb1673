using System;

namespace TaskLeak.Testing;

/// <summary>
/// The settings a <c>[DetectTaskLeaks]</c> attribute carries, for test-framework adapters. Only the properties that
/// were set are applied, so attributes on the assembly, the class and the method combine, the nearest winning property
/// by property; ignore lists add up.
/// </summary>
public sealed class TaskLeakTestSettings
{
    private readonly TaskLeakAssertOptions _options = new();
    private TaskLeakAction _onLeak = TaskLeakAction.Fail;
    private TaskLeakAction _onStalled = TaskLeakAction.None;
    private string[] _ignoredMethods = Array.Empty<string>();
    private string[] _ignoredSites = Array.Empty<string>();
    private Set _set;

    [Flags]
    private enum Set
    {
        OnLeak = 1,
        OnStalled = 2,
        StalledAfter = 4,
        PendingTimeout = 8,
        Collections = 16,
        Attribution = 32,
        IgnorePendingAtStart = 64,
    }

    /// <summary>What to do when operations the test started were proven leaked: fail (the default), warn, or nothing.</summary>
    public TaskLeakAction OnLeak
    {
        get => _onLeak;
        set => (_onLeak, _set) = (value, _set | Set.OnLeak);
    }

    /// <summary>What to do when operations the test started are still suspended, reachable, at its end: nothing (the default), warn, or fail.</summary>
    public TaskLeakAction OnStalled
    {
        get => _onStalled;
        set => (_onStalled, _set) = (value, _set | Set.OnStalled);
    }

    /// <summary>With <see cref="OnStalled"/>: only sites whose oldest operation has been suspended this long count (0: all).</summary>
    public int StalledAfterMilliseconds
    {
        get => (int)_options.StalledAfter.TotalMilliseconds;
        set => (_options.StalledAfter, _set) = (TimeSpan.FromMilliseconds(value), _set | Set.StalledAfter);
    }

    /// <summary>With <see cref="OnStalled"/>: how long to wait for operations still finishing (1000 by default).</summary>
    public int PendingTimeoutMilliseconds
    {
        get => (int)_options.PendingTimeout.TotalMilliseconds;
        set => (_options.PendingTimeout, _set) = (TimeSpan.FromMilliseconds(value), _set | Set.PendingTimeout);
    }

    /// <summary>How many full blocking garbage collections to force after each test (3 by default; 0: none, only sweep).</summary>
    public int Collections
    {
        get => _options.Collections;
        set => (_options.Collections, _set) = (value, _set | Set.Collections);
    }

    /// <summary>Which operations each test answers for; see <see cref="TaskLeakAttribution"/>.</summary>
    public TaskLeakAttribution Attribution
    {
        get => _options.Attribution;
        set => (_options.Attribution, _set) = (value, _set | Set.Attribution);
    }

    /// <summary>See <see cref="TaskLeakAssertOptions.IgnorePendingAtStart"/>.</summary>
    public bool IgnorePendingAtStart
    {
        get => _options.IgnorePendingAtStart;
        set => (_options.IgnorePendingAtStart, _set) = (value, _set | Set.IgnorePendingAtStart);
    }

    /// <summary>Methods to leave out; see <see cref="TaskLeakAssertOptions.IgnoredMethods"/>.</summary>
    public string[] IgnoredMethods
    {
        get => (string[])_ignoredMethods.Clone();
        set => _ignoredMethods = (string[]?)value?.Clone() ?? Array.Empty<string>();
    }

    /// <summary>Await sites to leave out; see <see cref="TaskLeakAssertOptions.IgnoredSites"/>.</summary>
    public string[] IgnoredSites
    {
        get => (string[])_ignoredSites.Clone();
        set => _ignoredSites = (string[]?)value?.Clone() ?? Array.Empty<string>();
    }

    /// <summary>
    /// Applies the properties that were set to <paramref name="check"/>, over what an attribute farther from the test
    /// applied before; with <see cref="TaskLeakAttribution.Process"/> in effect, records the test's starting point.
    /// </summary>
    /// <param name="check">The test's check.</param>
    public void ApplyTo(TaskLeakTestCheck check)
    {
        if (check is null)
        {
            throw new ArgumentNullException(nameof(check));
        }

        TaskLeakAssertOptions target = check.Options;
        if ((_set & Set.OnLeak) != 0)
        {
            check.OnLeak = _onLeak;
        }

        if ((_set & Set.OnStalled) != 0)
        {
            check.OnStalled = _onStalled;
        }

        if ((_set & Set.StalledAfter) != 0)
        {
            target.StalledAfter = _options.StalledAfter;
        }

        if ((_set & Set.PendingTimeout) != 0)
        {
            target.PendingTimeout = _options.PendingTimeout;
        }

        if ((_set & Set.Collections) != 0)
        {
            target.Collections = _options.Collections;
        }

        if ((_set & Set.Attribution) != 0)
        {
            target.Attribution = _options.Attribution;
        }

        if ((_set & Set.IgnorePendingAtStart) != 0)
        {
            target.IgnorePendingAtStart = _options.IgnorePendingAtStart;
        }

        foreach (string method in _ignoredMethods)
        {
            target.IgnoredMethods.Add(method);
        }

        foreach (string site in _ignoredSites)
        {
            target.IgnoredSites.Add(site);
        }

        check.RecordStartingPoint();
    }
}
