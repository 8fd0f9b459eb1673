using System.Collections.Generic;
using System.Runtime.CompilerServices;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace TaskLeak.NUnit.Checking;

/// <summary>
/// One test's leak bookkeeping, from the first <see cref="DetectTaskLeaksAttribute"/> that runs before it to the last
/// that runs after it. Keyed by the test object, so parallel tests never share one.
/// </summary>
internal sealed class TestLeakState
{
    private static readonly ConditionalWeakTable<ITest, TestLeakState> s_states = new();
    private readonly Dictionary<string, long> _reported = new();

    private TestLeakState(TaskLeakScope scope, string testMethod)
    {
        Scope = scope;
        TestMethod = testMethod;
    }

    internal TaskLeakScope Scope { get; }

    /// <summary>The test's <c>Namespace.Type.Method</c>, as it appears in stacks.</summary>
    internal string TestMethod { get; }

    /// <summary>The settings in effect: the attribute nearest the test wins, property by property.</summary>
    internal TaskLeakAssertOptions Options { get; } = new();

    internal TaskLeakAction OnLeak { get; set; } = TaskLeakAction.Fail;

    internal TaskLeakAction OnStalled { get; set; } = TaskLeakAction.None;

    /// <summary>How many attributes have run before the test and not yet after it.</summary>
    internal int Depth { get; set; }

    internal Baseline? Baseline { get; set; }

    /// <summary>Leaks already reported by an explicit assertion in this test, per site.</summary>
    internal IReadOnlyDictionary<string, long> Reported => _reported;

    /// <summary>The state of the test running in the calling flow, if an attribute covers it.</summary>
    internal static TestLeakState? Current =>
        TestExecutionContext.CurrentContext.CurrentTest is { } test && s_states.TryGetValue(test, out TestLeakState? state) ? state : null;

    internal static TestLeakState? Get(ITest test) => s_states.TryGetValue(test, out TestLeakState? state) ? state : null;

    /// <summary>Enters the test's scope in the calling flow: everything the test starts from here on belongs to it.</summary>
    internal static TestLeakState Begin(ITest test)
    {
        var state = new TestLeakState(TaskLeakScope.Begin(test.FullName), test.ClassName + "." + test.MethodName);
        s_states.AddOrUpdate(test, state);
        return state;
    }

    internal void End(ITest test)
    {
        s_states.Remove(test);
        Scope.Dispose();
    }

    internal void MarkReported(LeakFindings findings)
    {
        foreach (LeakFinding leak in findings.Leaks)
        {
            Checking.Baseline.Add(_reported, SiteKey.Of(leak.Group), leak.Count);
        }
    }
}
