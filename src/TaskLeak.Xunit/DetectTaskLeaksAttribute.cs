using System;
using System.Reflection;
using TaskLeak.Testing;
using Xunit.v3;

namespace TaskLeak.Xunit;

/// <summary>
/// Checks every test it covers for leaked async operations: before the test it enters a <see cref="TaskLeakScope"/>
/// for that test; after it, it collects, sweeps and fails the test if operations the test started were proven leaked.
/// The failure message is the report: method, await line, wait target, causal chain and creation stack.
/// </summary>
/// <remarks>
/// <para>
/// Put it on the assembly (<c>[assembly: DetectTaskLeaks]</c>), a test class or a test method; the test assembly must
/// be woven by TaskLeak.Fody. Where several apply, the one nearest the test wins, property by property, and ignore
/// lists add up.
/// </para>
/// <para>
/// Attribution follows the ExecutionContext, not the clock: an operation belongs to the test in whose flow it first
/// suspended, so tests in collections running in parallel never blame each other. Work started in the test class's
/// constructor, in class, collection or assembly fixtures, or by other tests belongs to none of them.
/// </para>
/// </remarks>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class DetectTaskLeaksAttribute : BeforeAfterTestAttribute
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

    /// <summary>Enters the test's scope (the first attribute to run does) and applies this attribute's settings.</summary>
    /// <param name="methodUnderTest">The test method.</param>
    /// <param name="test">The test about to run.</param>
    public override void Before(MethodInfo methodUnderTest, IXunitTest test)
    {
        // xUnit runs the assembly's attributes first, then the class's, then the method's: later ones are nearer.
        // Before's ExecutionContext flows into the test method, so the scope entered here is the test's.
        TestLeakState state = TestLeakState.Get(test) ?? TestLeakState.Begin(test, methodUnderTest);
        state.Depth++;
        _settings.ApplyTo(state.Check);
    }

    /// <summary>The last attribute to run after the test checks it and leaves its scope.</summary>
    /// <param name="methodUnderTest">The test method.</param>
    /// <param name="test">The test that ran.</param>
    public override void After(MethodInfo methodUnderTest, IXunitTest test)
    {
        if (TestLeakState.Get(test) is not { } state || --state.Depth > 0)
        {
            return;
        }

        try
        {
            Verdict.Report(state.Check.CheckAtEnd());
        }
        finally
        {
            state.End(test);
        }
    }
}
