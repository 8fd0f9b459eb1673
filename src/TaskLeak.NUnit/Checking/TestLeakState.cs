using System.Runtime.CompilerServices;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;
using TaskLeak.Testing;

namespace TaskLeak.NUnit.Checking;

/// <summary>
/// One test's check, from the first <see cref="DetectTaskLeaksAttribute"/> that runs before it to the last that runs
/// after it. Keyed by the test object, so parallel tests never share one.
/// </summary>
internal sealed class TestLeakState
{
    private static readonly ConditionalWeakTable<ITest, TestLeakState> s_states = new();

    private TestLeakState(TaskLeakTestCheck check) => Check = check;

    internal TaskLeakTestCheck Check { get; }

    /// <summary>How many attributes have run before the test and not yet after it.</summary>
    internal int Depth { get; set; }

    /// <summary>The state of the test running in the calling flow, if an attribute covers it.</summary>
    internal static TestLeakState? Current =>
        TestExecutionContext.CurrentContext.CurrentTest is { } test && s_states.TryGetValue(test, out TestLeakState? state) ? state : null;

    internal static TestLeakState? Get(ITest test) => s_states.TryGetValue(test, out TestLeakState? state) ? state : null;

    /// <summary>Enters the test's scope in the calling flow: everything the test starts from here on belongs to it.</summary>
    internal static TestLeakState Begin(ITest test)
    {
        var state = new TestLeakState(TaskLeakTestCheck.Begin(test.FullName, test.ClassName + "." + test.MethodName));
        s_states.AddOrUpdate(test, state);
        return state;
    }

    internal void End(ITest test)
    {
        s_states.Remove(test);
        Check.Dispose();
    }
}
