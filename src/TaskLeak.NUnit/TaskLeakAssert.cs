using System;
using TaskLeak.NUnit.Checking;

namespace TaskLeak.NUnit;

/// <summary>
/// goleak's <c>VerifyNone</c> for async operations: assertions about what the current test started. The test must be
/// covered by <see cref="DetectTaskLeaksAttribute"/> (use <c>OnLeak = TaskLeakAction.None</c> to check only where
/// these are called), or the scope to check must be passed.
/// </summary>
public static class TaskLeakAssert
{
    /// <summary>
    /// Collects, sweeps, and fails (or warns) if operations started by the current test were proven leaked: suspended
    /// forever, their frames reclaimed by the garbage collector. Leaks reported here are not reported again after the test.
    /// </summary>
    /// <param name="options">What to leave out and how hard to look; the covering attribute's settings when null.</param>
    /// <exception cref="InvalidOperationException">No <see cref="DetectTaskLeaksAttribute"/> covers the current test.</exception>
    public static void NoLeaks(TaskLeakAssertOptions? options = null) => Check(Current(nameof(NoLeaks)), options, pending: false);

    /// <summary>Fails (or warns) if operations started inside <paramref name="scope"/> were proven leaked.</summary>
    /// <param name="scope">The scope whose operations to check.</param>
    /// <param name="options">What to leave out and how hard to look; the defaults when null.</param>
    public static void NoLeaks(TaskLeakScope scope, TaskLeakAssertOptions? options = null) => Check(ForScope(scope), options, pending: false);

    /// <summary>
    /// The stricter check: fails (or warns) if operations started by the current test are still suspended — proven leaked,
    /// or reachable but not finished (stalled). Waits up to <see cref="TaskLeakAssertOptions.PendingTimeout"/> for work
    /// that is finishing; <see cref="TaskLeakAssertOptions.StalledAfter"/> keeps only operations suspended that long.
    /// </summary>
    /// <param name="options">What to leave out and how hard to look; the covering attribute's settings when null.</param>
    /// <exception cref="InvalidOperationException">No <see cref="DetectTaskLeaksAttribute"/> covers the current test.</exception>
    public static void NoPendingOperations(TaskLeakAssertOptions? options = null) =>
        Check(Current(nameof(NoPendingOperations)), options, pending: true);

    /// <summary>Fails (or warns) if operations started inside <paramref name="scope"/> leaked or are still suspended.</summary>
    /// <param name="scope">The scope whose operations to check.</param>
    /// <param name="options">What to leave out and how hard to look; the defaults when null.</param>
    public static void NoPendingOperations(TaskLeakScope scope, TaskLeakAssertOptions? options = null) =>
        Check(ForScope(scope), options, pending: true);

    private static (TaskLeakScope Scope, TestLeakState? State) Current(string assertion) =>
        TestLeakState.Current is { } state
            ? (state.Scope, state)
            : throw new InvalidOperationException(
                "TaskLeakAssert." + assertion + "() checks the operations the current test started, so the test must run in a leak scope: " +
                "put [DetectTaskLeaks] on the test, its fixture or its assembly ([DetectTaskLeaks(OnLeak = TaskLeakAction.None)] to check " +
                "only where you assert), or pass the TaskLeakScope to check.");

    private static (TaskLeakScope Scope, TestLeakState? State) ForScope(TaskLeakScope scope)
    {
        if (scope is null)
        {
            throw new ArgumentNullException(nameof(scope));
        }

        TestLeakState? state = TestLeakState.Current;
        return (scope, ReferenceEquals(state?.Scope, scope) ? state : null);
    }

    private static void Check((TaskLeakScope Scope, TestLeakState? State) target, TaskLeakAssertOptions? options, bool pending)
    {
        options ??= target.State?.Options.Clone() ?? new TaskLeakAssertOptions();
        LeakFindings findings = LeakCheck.Run(target.Scope, options, pending, target.State?.Baseline, target.State?.Reported, target.State?.TestMethod);
        if (findings.IsEmpty)
        {
            return;
        }

        target.State?.MarkReported(findings);
        Verdict.Report(options.Action, findings.ToString(), afterTest: false);
    }
}
