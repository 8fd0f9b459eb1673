using System;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using TaskLeak.NUnit.Checking;

namespace TaskLeak.NUnit;

/// <summary>
/// Checks every test it covers for leaked async operations: before the test it enters a <see cref="TaskLeakScope"/>
/// for that test; after it (and after its TearDown, when placed on a fixture or the assembly) it collects, sweeps and
/// fails the test if operations the test started were proven leaked. The failure message is the report: method,
/// await line, wait target, causal chain and creation stack.
/// </summary>
/// <remarks>
/// <para>
/// Put it on the assembly (<c>[assembly: DetectTaskLeaks]</c>), a fixture or a test; the test assembly must be woven
/// by TaskLeak.Fody. Where several apply, the one nearest the test wins, property by property, and ignore lists add up.
/// </para>
/// <para>
/// Attribution follows the ExecutionContext, not the clock: an operation belongs to the test in whose flow it first
/// suspended, directly, through awaits, or in work spawned from it, so tests running in parallel never blame each
/// other. Work started in OneTimeSetUp, by other tests or by the application belongs to none of them.
/// </para>
/// </remarks>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class DetectTaskLeaksAttribute : Attribute, ITestAction
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

    /// <summary>
    /// What to do when operations the test started are still suspended at its end, reachable and so not proven
    /// leaked (the stalled tier): nothing (the default), warn, or fail. See <see cref="StalledAfterMilliseconds"/>.
    /// </summary>
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

    /// <summary>Once per test case, wherever the attribute is placed.</summary>
    public ActionTargets Targets => ActionTargets.Test;

    /// <summary>Enters the test's scope (the first attribute to run does) and applies this attribute's settings.</summary>
    /// <param name="test">The test about to run.</param>
    public void BeforeTest(ITest test)
    {
        // NUnit runs the assembly's attribute first, then the fixture's, then the test's: later ones are nearer.
        TestLeakState state = TestLeakState.Get(test) ?? TestLeakState.Begin(test);
        state.Depth++;
        ApplyTo(state);
    }

    /// <summary>The last attribute to run after the test checks it and leaves its scope.</summary>
    /// <param name="test">The test that ran.</param>
    public void AfterTest(ITest test)
    {
        if (TestLeakState.Get(test) is not { } state || --state.Depth > 0)
        {
            return;
        }

        try
        {
            Check(state);
        }
        finally
        {
            state.End(test);
        }
    }

    private static void Check(TestLeakState state)
    {
        bool leaks = state.OnLeak != TaskLeakAction.None;
        bool stalled = state.OnStalled != TaskLeakAction.None;
        if (!leaks && !stalled)
        {
            return;
        }

        LeakFindings findings = LeakCheck.Run(state.Scope, state.Options, stalled, state.Baseline, state.Reported, state.TestMethod);
        if (!leaks)
        {
            findings.Leaks.Clear();
        }

        if (findings.IsEmpty)
        {
            return;
        }

        bool fail = (findings.Leaks.Count > 0 && state.OnLeak == TaskLeakAction.Fail)
            || (findings.Pending.Count > 0 && state.OnStalled == TaskLeakAction.Fail);
        Verdict.Report(fail ? TaskLeakAction.Fail : TaskLeakAction.Warn, findings.ToString(), afterTest: true);
    }

    private void ApplyTo(TestLeakState state)
    {
        TaskLeakAssertOptions target = state.Options;
        if ((_set & Set.OnLeak) != 0)
        {
            state.OnLeak = _onLeak;
        }

        if ((_set & Set.OnStalled) != 0)
        {
            state.OnStalled = _onStalled;
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

        if (target.Attribution == TaskLeakAttribution.Process)
        {
            state.Baseline ??= Baseline.Take();
        }
    }
}
