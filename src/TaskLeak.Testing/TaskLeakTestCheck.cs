using System;
using System.Collections.Generic;
using System.Threading;

namespace TaskLeak.Testing;

/// <summary>
/// One test's leak check, for test-framework adapters: <see cref="Begin"/> enters a <see cref="TaskLeakScope"/> in the
/// test's flow before it runs; <see cref="CheckAtEnd"/> collects, sweeps and renders what the test leaked after it ran;
/// <see cref="Dispose"/> leaves the scope. The adapter turns a <see cref="TaskLeakVerdict"/> into its framework's result.
/// </summary>
/// <remarks>
/// Attribution follows the ExecutionContext: an operation belongs to the test in whose flow it first suspended, so
/// tests running in parallel never blame each other. <see cref="Begin"/> must run in the flow the test body inherits.
/// </remarks>
public sealed class TaskLeakTestCheck : IDisposable
{
    private static int s_begun;
    private static int s_failed;
    private static int s_warned;
    private readonly Dictionary<string, long> _reported = new();
    private Baseline? _baseline;
    private TaskLeakAction _worst = TaskLeakAction.None;

    private TaskLeakTestCheck(TaskLeakScope scope, string testMethod)
    {
        Scope = scope;
        TestMethod = testMethod;
    }

    /// <summary>The test's scope: what it started, directly, through awaits or in work it spawned.</summary>
    public TaskLeakScope Scope { get; }

    /// <summary>The test's <c>Namespace.Type.Method</c>, as it appears in stack traces.</summary>
    public string TestMethod { get; }

    /// <summary>The settings in effect, and the defaults of explicit assertions in the test.</summary>
    public TaskLeakAssertOptions Options { get; } = new();

    /// <summary>What to do with proven leaks at the test's end; <see cref="TaskLeakAction.Fail"/> by default.</summary>
    public TaskLeakAction OnLeak { get; set; } = TaskLeakAction.Fail;

    /// <summary>What to do with operations still suspended at the test's end; <see cref="TaskLeakAction.None"/> by default.</summary>
    public TaskLeakAction OnStalled { get; set; } = TaskLeakAction.None;

    internal static int Begun => Volatile.Read(ref s_begun);

    internal static int Failed => Volatile.Read(ref s_failed);

    internal static int Warned => Volatile.Read(ref s_warned);

    /// <summary>Enters the test's scope in the calling flow: everything the test starts from here on belongs to it.</summary>
    /// <param name="testName">The test's display name (the scope's name).</param>
    /// <param name="testMethod">The test's <c>Namespace.Type.Method</c>.</param>
    /// <returns>The test's check.</returns>
    public static TaskLeakTestCheck Begin(string testName, string testMethod)
    {
        if (testName is null)
        {
            throw new ArgumentNullException(nameof(testName));
        }

        if (testMethod is null)
        {
            throw new ArgumentNullException(nameof(testMethod));
        }

        Interlocked.Increment(ref s_begun);
        return new TaskLeakTestCheck(TaskLeakScope.Begin(testName), testMethod);
    }

    /// <summary>
    /// With <see cref="TaskLeakAttribution.Process"/> in <see cref="Options"/>, records what the process has now (once):
    /// the starting point <see cref="TaskLeakAssertOptions.IgnorePendingAtStart"/> leaves out. Call it before the test body.
    /// </summary>
    public void RecordStartingPoint()
    {
        if (Options.Attribution == TaskLeakAttribution.Process)
        {
            _baseline ??= Baseline.Take();
        }
    }

    /// <summary>
    /// The check after the test ran, as <see cref="OnLeak"/> and <see cref="OnStalled"/> say. Leaks an explicit
    /// assertion already reported are not reported again.
    /// </summary>
    /// <returns>What to do and the message, or null when there is nothing to report.</returns>
    public TaskLeakVerdict? CheckAtEnd()
    {
        bool leaks = OnLeak != TaskLeakAction.None;
        bool stalled = OnStalled != TaskLeakAction.None;
        if (!leaks && !stalled)
        {
            return null;
        }

        LeakFindings findings = LeakCheck.Run(Scope, Options, stalled, _baseline, _reported, TestMethod);
        if (!leaks)
        {
            findings.Leaks.Clear();
        }

        if (findings.IsEmpty)
        {
            return null;
        }

        bool fail = (findings.Leaks.Count > 0 && OnLeak == TaskLeakAction.Fail)
            || (findings.Pending.Count > 0 && OnStalled == TaskLeakAction.Fail);
        return Count(new TaskLeakVerdict(fail ? TaskLeakAction.Fail : TaskLeakAction.Warn, findings.ToString()));
    }

    /// <summary>
    /// An explicit assertion in the test (<c>TaskLeakAssert.NoLeaks()</c>, <c>NoPendingOperations()</c>): what the test
    /// started so far. What it reports is not reported again at the test's end.
    /// </summary>
    /// <param name="options">The assertion's settings; a copy of <see cref="Options"/> when null.</param>
    /// <param name="pending">Also report operations still suspended.</param>
    /// <returns>What to do and the message, or null when there is nothing to report.</returns>
    public TaskLeakVerdict? Assert(TaskLeakAssertOptions? options, bool pending)
    {
        options ??= Options.Clone();
        LeakFindings findings = LeakCheck.Run(Scope, options, pending, _baseline, _reported, TestMethod);
        if (findings.IsEmpty)
        {
            return null;
        }

        foreach (LeakFinding leak in findings.Leaks)
        {
            Baseline.Add(_reported, SiteKey.Of(leak.Group), leak.Count);
        }

        return Count(new TaskLeakVerdict(options.Action, findings.ToString()));
    }

    /// <summary>
    /// An explicit assertion in the test on <paramref name="scope"/>: with the test's own scope, as
    /// <see cref="Assert(TaskLeakAssertOptions, bool)"/>; with another (an inner scope), what was started inside it.
    /// </summary>
    /// <param name="scope">The scope whose operations to check.</param>
    /// <param name="options">The assertion's settings; with another scope, the defaults when null.</param>
    /// <param name="pending">Also report operations still suspended.</param>
    /// <returns>What to do and the message, or null when there is nothing to report.</returns>
    public TaskLeakVerdict? Assert(TaskLeakScope scope, TaskLeakAssertOptions? options, bool pending) =>
        ReferenceEquals(scope, Scope) ? Assert(options, pending) : Count(AssertScope(scope, options, pending));

    /// <summary>An explicit assertion on any scope, outside any test's check: what was started inside it.</summary>
    /// <param name="scope">The scope whose operations to check.</param>
    /// <param name="options">The assertion's settings; the defaults when null.</param>
    /// <param name="pending">Also report operations still suspended.</param>
    /// <returns>What to do and the message, or null when there is nothing to report.</returns>
    public static TaskLeakVerdict? AssertScope(TaskLeakScope scope, TaskLeakAssertOptions? options, bool pending)
    {
        if (scope is null)
        {
            throw new ArgumentNullException(nameof(scope));
        }

        options ??= new TaskLeakAssertOptions();
        LeakFindings findings = LeakCheck.Run(scope, options, pending, baseline: null, reported: null, testMethod: null);
        return findings.IsEmpty ? null : new TaskLeakVerdict(options.Action, findings.ToString());
    }

    /// <summary>Leaves the test's scope; the run report counts the test as failed or warned for leaks if it was.</summary>
    public void Dispose()
    {
        TaskLeakAction worst = _worst;
        _worst = TaskLeakAction.None;
        if (worst == TaskLeakAction.Fail)
        {
            Interlocked.Increment(ref s_failed);
        }
        else if (worst == TaskLeakAction.Warn)
        {
            Interlocked.Increment(ref s_warned);
        }

        Scope.Dispose();
    }

    private TaskLeakVerdict? Count(TaskLeakVerdict? verdict)
    {
        // Fail outranks Warn outranks None (the enum's order).
        if (verdict is not null && verdict.Action < _worst)
        {
            _worst = verdict.Action;
        }

        return verdict;
    }
}

/// <summary>What a leak check found, for the adapter to turn into the test's result.</summary>
public sealed class TaskLeakVerdict
{
    internal TaskLeakVerdict(TaskLeakAction action, string message)
    {
        Action = action;
        Message = message;
    }

    /// <summary>Fail or warn (never <see cref="TaskLeakAction.None"/>: nothing is reported then).</summary>
    public TaskLeakAction Action { get; }

    /// <summary>The report: each leak's method, await line, wait target, chain and creation stack.</summary>
    public string Message { get; }

    /// <inheritdoc/>
    public override string ToString() => Message;
}
