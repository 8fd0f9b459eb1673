using System.Reflection;
using System.Runtime.CompilerServices;
using TaskLeak.Testing;
using Xunit;
using Xunit.Sdk;
using Xunit.v3;

namespace TaskLeak.Xunit;

/// <summary>
/// One test's check, from the first <see cref="DetectTaskLeaksAttribute"/> that runs before it to the last that runs
/// after it. The attributes are shared by every test they cover, so the state is keyed by the test object.
/// </summary>
internal sealed class TestLeakState
{
    private static readonly ConditionalWeakTable<ITest, TestLeakState> s_states = new();

    private TestLeakState(TaskLeakTestCheck check) => Check = check;

    internal TaskLeakTestCheck Check { get; }

    /// <summary>How many attributes have run before the test and not yet after it.</summary>
    internal int Depth { get; set; }

    /// <summary>The state of the test running in the calling flow (xUnit's <c>TestContext.Current</c>), if covered.</summary>
    internal static TestLeakState? Current =>
        TestContext.Current.Test is { } test && s_states.TryGetValue(test, out TestLeakState? state) ? state : null;

    internal static TestLeakState? Get(ITest test) => s_states.TryGetValue(test, out TestLeakState? state) ? state : null;

    /// <summary>Enters the test's scope in the calling flow: everything the test starts from here on belongs to it.</summary>
    internal static TestLeakState Begin(IXunitTest test, MethodInfo method)
    {
        // Stack traces name the declaring type, nested types joined with '.'.
        string type = (method.DeclaringType?.FullName ?? "").Replace('+', '.');
        var state = new TestLeakState(TaskLeakTestCheck.Begin(test.TestDisplayName, type + "." + method.Name));
        s_states.AddOrUpdate(test, state);
        return state;
    }

    internal void End(ITest test)
    {
        s_states.Remove(test);
        Check.Dispose();
    }
}
