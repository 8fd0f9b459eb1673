using System;
using TaskLeak.Testing;

namespace TaskLeak.MSTest;

/// <summary>
/// goleak's <c>VerifyNone</c> for async operations: assertions about what the current test started. The test must be
/// in a leak scope (<see cref="TaskLeakTests.Begin"/> from <c>[GlobalTestInitialize]</c>; a
/// <see cref="DetectTaskLeaksAttribute"/> with <c>OnLeak = TaskLeakAction.None</c> checks only where these are called),
/// or the scope to check must be passed.
/// </summary>
public static class TaskLeakAssert
{
    /// <summary>
    /// Collects, sweeps, and fails (or warns) if operations started by the current test were proven leaked: suspended
    /// forever, their frames reclaimed by the garbage collector. Leaks reported here are not reported again after the test.
    /// </summary>
    /// <param name="options">What to leave out and how hard to look; the covering attribute's settings when null.</param>
    /// <exception cref="InvalidOperationException">The current test is not in a leak scope.</exception>
    public static void NoLeaks(TaskLeakAssertOptions? options = null) => Verdict.Report(Current(nameof(NoLeaks)).Assert(options, pending: false), context: null);

    /// <summary>Fails (or warns) if operations started inside <paramref name="scope"/> were proven leaked.</summary>
    /// <param name="scope">The scope whose operations to check.</param>
    /// <param name="options">What to leave out and how hard to look; the defaults when null.</param>
    public static void NoLeaks(TaskLeakScope scope, TaskLeakAssertOptions? options = null) => Verdict.Report(ForScope(scope, options, pending: false), context: null);

    /// <summary>
    /// The stricter check: fails (or warns) if operations started by the current test are still suspended — proven leaked,
    /// or reachable but not finished (stalled). Waits up to <see cref="TaskLeakAssertOptions.PendingTimeout"/> for work
    /// that is finishing; <see cref="TaskLeakAssertOptions.StalledAfter"/> keeps only operations suspended that long.
    /// </summary>
    /// <param name="options">What to leave out and how hard to look; the covering attribute's settings when null.</param>
    /// <exception cref="InvalidOperationException">The current test is not in a leak scope.</exception>
    public static void NoPendingOperations(TaskLeakAssertOptions? options = null) =>
        Verdict.Report(Current(nameof(NoPendingOperations)).Assert(options, pending: true), context: null);

    /// <summary>Fails (or warns) if operations started inside <paramref name="scope"/> leaked or are still suspended.</summary>
    /// <param name="scope">The scope whose operations to check.</param>
    /// <param name="options">What to leave out and how hard to look; the defaults when null.</param>
    public static void NoPendingOperations(TaskLeakScope scope, TaskLeakAssertOptions? options = null) =>
        Verdict.Report(ForScope(scope, options, pending: true), context: null);

    private static TaskLeakTestCheck Current(string assertion) =>
        TaskLeakTests.Current ?? throw new InvalidOperationException(
            "TaskLeakAssert." + assertion + "() checks the operations the current test started, so the test must run in a leak scope: " +
            "call TaskLeakTests.Begin(context) from a [GlobalTestInitialize] and TaskLeakTests.Check(context) from a [GlobalTestCleanup] " +
            "([DetectTaskLeaks(OnLeak = TaskLeakAction.None)] to check only where you assert), or pass the TaskLeakScope to check.");

    private static TaskLeakVerdict? ForScope(TaskLeakScope scope, TaskLeakAssertOptions? options, bool pending)
    {
        if (scope is null)
        {
            throw new ArgumentNullException(nameof(scope));
        }

        return TaskLeakTests.Current is { } check ? check.Assert(scope, options, pending) : TaskLeakTestCheck.AssertScope(scope, options, pending);
    }
}
