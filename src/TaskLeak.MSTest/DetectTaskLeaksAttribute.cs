using System;
using TaskLeak.Testing;

namespace TaskLeak.MSTest;

/// <summary>
/// Settings of the leak check <see cref="TaskLeakTests"/> runs for each test: put it on the assembly
/// (<c>[assembly: DetectTaskLeaks(...)]</c>), a test class or a test method. Where several apply, the one nearest the
/// test wins, property by property, and ignore lists add up. Without one, every test gets the defaults.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class DetectTaskLeaksAttribute : Attribute
{
    private readonly TaskLeakTestSettings _settings = new();

    /// <summary>What to do when operations the test started were proven leaked: fail (the default), warn, or nothing.</summary>
    public TaskLeakAction OnLeak
    {
        get => _settings.OnLeak;
        set => _settings.OnLeak = value;
    }

    /// <summary>
    /// What to do when operations the test started are still suspended at its end, reachable and so not proven
    /// leaked (the stalled tier): nothing (the default), warn, or fail. See <see cref="StalledAfterMilliseconds"/>.
    /// </summary>
    public TaskLeakAction OnStalled
    {
        get => _settings.OnStalled;
        set => _settings.OnStalled = value;
    }

    /// <summary>With <see cref="OnStalled"/>: only sites whose oldest operation has been suspended this long count (0: all).</summary>
    public int StalledAfterMilliseconds
    {
        get => _settings.StalledAfterMilliseconds;
        set => _settings.StalledAfterMilliseconds = value;
    }

    /// <summary>With <see cref="OnStalled"/>: how long to wait for operations still finishing (1000 by default).</summary>
    public int PendingTimeoutMilliseconds
    {
        get => _settings.PendingTimeoutMilliseconds;
        set => _settings.PendingTimeoutMilliseconds = value;
    }

    /// <summary>How many full blocking garbage collections to force after each test (3 by default; 0: none, only sweep).</summary>
    public int Collections
    {
        get => _settings.Collections;
        set => _settings.Collections = value;
    }

    /// <summary>Which operations each test answers for; see <see cref="TaskLeakAttribution"/>.</summary>
    public TaskLeakAttribution Attribution
    {
        get => _settings.Attribution;
        set => _settings.Attribution = value;
    }

    /// <summary>See <see cref="TaskLeakAssertOptions.IgnorePendingAtStart"/>.</summary>
    public bool IgnorePendingAtStart
    {
        get => _settings.IgnorePendingAtStart;
        set => _settings.IgnorePendingAtStart = value;
    }

    /// <summary>Methods to leave out; see <see cref="TaskLeakAssertOptions.IgnoredMethods"/>.</summary>
    public string[] IgnoredMethods
    {
        get => _settings.IgnoredMethods;
        set => _settings.IgnoredMethods = value;
    }

    /// <summary>Await sites to leave out; see <see cref="TaskLeakAssertOptions.IgnoredSites"/>.</summary>
    public string[] IgnoredSites
    {
        get => _settings.IgnoredSites;
        set => _settings.IgnoredSites = value;
    }

    internal void ApplyTo(TaskLeakTestCheck check) => _settings.ApplyTo(check);
}
