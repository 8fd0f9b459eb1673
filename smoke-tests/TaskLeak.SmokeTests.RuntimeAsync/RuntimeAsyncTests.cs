using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.SmokeTests.RuntimeAsync;

/// <summary>Runtime-async methods woven by the real Fody build, run by the runtime's own async support.</summary>
/// <remarks>The tests' own async methods are runtime-async too; [DoNotTrack] keeps them out of the counts they assert.</remarks>
[NonParallelizable] // Woven code reports to the process's one default detector, which these tests reset and whose leaks they count.
[DoNotTrack]
public class RuntimeAsyncTests
{
    private const string Prefix = "TaskLeak.SmokeTests.RuntimeAsync.RuntimeAsyncScenarios.";

    private static readonly string[] s_awaitForms =
    {
        "AwaitTask", "AwaitTaskOfT", "AwaitValueTask", "AwaitValueTaskOfT", "AwaitConfigured", "AwaitConfiguredOfT",
        "AwaitConfiguredValueTask", "AwaitConfiguredValueTaskOfT", "AwaitCriticalAwaiter", "AwaitNotifyAwaiter",
    };

    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        RuntimeAsyncScenarios.FinallyRuns = 0;
    }

    [Test]
    public void The_scenarios_really_are_runtime_async()
    {
        Assert.That(Environment.GetEnvironmentVariable("DOTNET_RuntimeAsync"), Is.EqualTo("1"));
        Assert.That(Environment.GetEnvironmentVariable("DOTNET_TieredCompilation"), Is.EqualTo("0"), "fully optimized JIT from the first call");
        Type type = typeof(RuntimeAsyncScenarios);
        string[] stateMachines = type.GetNestedTypes(BindingFlags.NonPublic).Where(t => typeof(IAsyncStateMachine).IsAssignableFrom(t)).Select(t => t.Name).ToArray();
        foreach (string name in s_awaitForms.Concat(new[] { "SeveralAwaits", "ThrowsAfterSuspending", "CompletesSynchronously", "OuterDirect", "InnerDirect" }))
        {
            MethodInfo method = type.GetMethod(name)!;
            Assert.That(method.MethodImplementationFlags & RuntimeAsyncFlag, Is.EqualTo(RuntimeAsyncFlag), name + " is flagged MethodImplAttributes.Async");
            Assert.That(method.GetCustomAttribute<AsyncStateMachineAttribute>(), Is.Null, name + " has no state machine attribute");
            Assert.That(stateMachines, Has.None.StartsWith("<" + name + ">"), name + " has no state machine type");
        }

        Assert.That(stateMachines, Has.Some.StartsWith("<AsyncVoid>").And.Some.StartsWith("<Iterator>"));
        Assert.That(type.GetMethod("AsyncVoid")!.GetCustomAttribute<AsyncStateMachineAttribute>(), Is.Not.Null);
        Assert.That(type.GetMethod("Iterator")!.GetCustomAttribute<AsyncIteratorStateMachineAttribute>(), Is.Not.Null);
    }

    [Test]
    public void Woven_methods_carry_the_completion_finally_and_direct_awaits_of_woven_methods_are_left_alone()
    {
        Assert.That(HasFinally("AwaitTaskOfT"), Is.True, "woven: try/finally around the body");
        Assert.That(HasFinally("InnerDirect"), Is.True);
        Assert.That(HasFinally("OuterDirect"), Is.False, "its only await is of InnerDirect, which tracks the suspension itself");
        Assert.That(HasFinally("OptedOut"), Is.False, "[DoNotTrack]");
    }

    [TestCaseSource(nameof(s_awaitForms))]
    public void A_dropped_source_is_a_proven_leak_at_its_await(string method)
    {
        RuntimeAsyncScenarios.StartDropped(method);

        TaskLeakGroup leak = WaitForSingleLeak();

        Assert.That(leak.Method, Is.EqualTo(Prefix + method));
        Assert.That(leak.AwaitSite, Is.EqualTo("RuntimeAsyncScenarios.cs:" + Line("await:" + method)));
        Assert.That(leak.StartedBy, Is.Null);
    }

    [Test]
    public void The_wait_target_is_the_awaited_expression_and_its_type()
    {
        RuntimeAsyncScenarios.StartDropped("AwaitTaskOfT");
        Assert.That(WaitForSingleLeak().WaitTarget, Is.EqualTo("TaskCompletionSource<int>.Task (Task<int>)"));
        TaskLeakDetector.Reset();

        RuntimeAsyncScenarios.StartDropped("AwaitConfiguredOfT");
        Assert.That(WaitForSingleLeak().WaitTarget, Is.EqualTo("TaskCompletionSource<int>.Task.ConfigureAwait(false)"));
    }

    [Test]
    public void A_leaked_frame_never_runs_its_finally()
    {
        RuntimeAsyncScenarios.StartDropped("AwaitTask");

        WaitForSingleLeak();
        Assert.That(RuntimeAsyncScenarios.FinallyRuns, Is.Zero);
    }

    [TestCaseSource(nameof(s_awaitForms))]
    public async Task A_source_completed_later_is_not_a_leak(string method)
    {
        var source = new TaskCompletionSource<int>();
        object returned = typeof(RuntimeAsyncScenarios).GetMethod(method)!.Invoke(null, new object[] { source })!;
        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1), "suspended and tracked");
        Assert.That(TaskLeakDetector.DetectNow().IsEmpty, "suspended, but reachable through the source");

        source.SetResult(1);
        await AsTask(returned);

        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
    }

    [Test]
    public void Several_awaits_report_the_await_the_frame_was_stuck_at()
    {
        RuntimeAsyncScenarios.StartSeveralAwaitsDroppedAtSecond();

        TaskLeakGroup leak = WaitForSingleLeak();
        Assert.That(leak.Method, Is.EqualTo(Prefix + "SeveralAwaits"));
        Assert.That(leak.AwaitSite, Is.EqualTo("RuntimeAsyncScenarios.cs:" + Line("await:SeveralAwaits.Second")));
    }

    [Test]
    public async Task The_proof_token_survives_every_suspension_while_the_source_is_reachable()
    {
        RuntimeAsyncScenarios.StartSeveralAwaitsHeldAtSecond();
        Assert.That(SpinWait.SpinUntil(() => TaskLeakDetector.Snapshot().Groups.Any(g => g.Line == Line("await:SeveralAwaits.Second")), TimeSpan.FromSeconds(20)),
            "suspended at the second await");
        for (int i = 0; i < 3; i++)
        {
            Assert.That(TaskLeakDetector.DetectNow().IsEmpty, "the frame (and its token) is reachable through the held source");
        }

        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1));
        RuntimeAsyncScenarios.Held!.SetResult(2);
        RuntimeAsyncScenarios.Held = null;
        Assert.That(SpinWait.SpinUntil(() => TaskLeakDetector.PendingCount == 0, TimeSpan.FromSeconds(20)));
        await Task.Yield();
        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
    }

    [Test]
    public void A_source_held_in_a_static_is_never_a_proven_leak()
    {
        RuntimeAsyncScenarios.StartHeldInStaticDroppingTask();
        try
        {
            Assert.That(TaskLeakDetector.DetectNow().IsEmpty, "reachable but stuck: not a proof");
            Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1));
        }
        finally
        {
            RuntimeAsyncScenarios.Held!.SetResult(0);
            RuntimeAsyncScenarios.Held = null;
        }

        Assert.That(SpinWait.SpinUntil(() => TaskLeakDetector.PendingCount == 0, TimeSpan.FromSeconds(20)));
        Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref RuntimeAsyncScenarios.FinallyRuns) == 1, TimeSpan.FromSeconds(20)));
    }

    [Test]
    public void Faulted_cancelled_and_throwing_methods_release_their_operation()
    {
        var faulted = new TaskCompletionSource<int>();
        var cancelled = new TaskCompletionSource<int>();
        var throws = new TaskCompletionSource<int>();
        Task first = RuntimeAsyncScenarios.AwaitTask(faulted);
        Task<int> second = RuntimeAsyncScenarios.AwaitTaskOfT(cancelled);
        Task<int> third = RuntimeAsyncScenarios.ThrowsAfterSuspending(throws);
        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(3));

        faulted.SetException(new InvalidOperationException("expected"));
        cancelled.SetCanceled();
        throws.SetResult(0);

        Assert.That(() => first.GetAwaiter().GetResult(), Throws.InvalidOperationException);
        Assert.That(() => second.GetAwaiter().GetResult(), Throws.InstanceOf<TaskCanceledException>());
        Assert.That(() => third.GetAwaiter().GetResult(), Throws.InvalidOperationException.With.Message.EqualTo("expected"));
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
        Assert.That(RuntimeAsyncScenarios.FinallyRuns, Is.EqualTo(1));
    }

    [Test]
    public async Task Synchronous_completions_never_reach_the_registry()
    {
        using TaskLeakScope scope = TaskLeakScope.Begin(nameof(Synchronous_completions_never_reach_the_registry));
        Assert.That(await RuntimeAsyncScenarios.CompletesSynchronously(scope), Is.Zero, "nothing was registered by completed awaits");

        // The control: the same probe after a real suspension sees its own operation.
        var source = new TaskCompletionSource<int>();
        Task<int> probe = RuntimeAsyncScenarios.ProbesAfterResuming(source, scope);
        source.SetResult(1);
        Assert.That(await probe, Is.EqualTo(1));
        Assert.That(scope.PendingCount, Is.Zero);
    }

    [Test]
    public void A_direct_await_of_a_woven_method_is_reported_once_at_the_callee()
    {
        RuntimeAsyncScenarios.StartDropped("OuterDirect");

        TaskLeakGroup leak = WaitForSingleLeak();
        Assert.That(leak.Method, Is.EqualTo(Prefix + "InnerDirect"));
        Assert.That(leak.AwaitSite, Is.EqualTo("RuntimeAsyncScenarios.cs:" + Line("await:InnerDirect")));
    }

    [Test]
    public void DoNotTrack_leaves_a_runtime_async_method_untracked()
    {
        RuntimeAsyncScenarios.StartDropped("OptedOut");

        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
    }

    [Test]
    public void A_leak_in_a_runtime_async_lambda_passed_to_Task_Run_names_the_spawn_site()
    {
        RuntimeAsyncScenarios.StartSpawned();

        TaskLeakGroup leak = WaitForSingleLeak();
        Assert.That(leak.Method, Is.EqualTo(Prefix + "StartSpawned"));
        Assert.That(leak.Detail, Is.EqualTo("lambda"));
        Assert.That(leak.StartedBy, Is.EqualTo("Task.Run at RuntimeAsyncScenarios.cs:" + Line("spawn:StartSpawned")));
    }

    [Test]
    public void Async_void_still_compiles_to_a_state_machine_and_is_woven()
    {
        RuntimeAsyncScenarios.StartDropped("AsyncVoid");

        TaskLeakGroup leak = WaitForSingleLeak();
        Assert.That(leak.Method, Is.EqualTo(Prefix + "AsyncVoid"));
        Assert.That(leak.AwaitSite, Is.EqualTo("RuntimeAsyncScenarios.cs:" + Line("await:AsyncVoid")));
    }

    [Test]
    public void Async_iterators_still_compile_to_state_machines_and_are_woven()
    {
        RuntimeAsyncScenarios.StartIteratorDropped();

        TaskLeakReport report = WaitForLeaks();
        Assert.That(report.Leaks.Select(l => l.Method), Does.Contain(Prefix + "Iterator"), report.ToString());
        Assert.That(report.Leaks.Single(l => l.Method == Prefix + "Iterator").AwaitSite, Is.EqualTo("RuntimeAsyncScenarios.cs:" + Line("await:Iterator")));
    }

    [Test]
    public async Task Async_iterators_that_complete_report_nothing()
    {
        var source = new TaskCompletionSource<int>();
        Task<int> sum = RuntimeAsyncScenarios.ConsumeIterator(source);
        source.SetResult(2);
        Assert.That(await sum, Is.EqualTo(3));
        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero, TaskLeakDetector.Snapshot().ToString());
    }

    private const MethodImplAttributes RuntimeAsyncFlag = (MethodImplAttributes)0x2000;

    private static bool HasFinally(string method) =>
        typeof(RuntimeAsyncScenarios).GetMethod(method)!.GetMethodBody()!.ExceptionHandlingClauses.Any(c => c.Flags == ExceptionHandlingClauseOptions.Finally);

    private static async Task AsTask(object returned)
    {
        switch (returned)
        {
            case Task task:
                await task;
                break;
            case ValueTask valueTask:
                await valueTask;
                break;
            case ValueTask<int> valueTaskOfT:
                await valueTaskOfT;
                break;
            default:
                throw new ArgumentException(returned.GetType().Name);
        }
    }

    /// <summary>Sweeps until a leak is proven (bounded: spawned work runs on another thread), then expects exactly one.</summary>
    private static TaskLeakGroup WaitForSingleLeak()
    {
        TaskLeakReport report = WaitForLeaks();
        Assert.That(report.Leaks, Has.Count.EqualTo(1), report.ToString());
        Assert.That(report.Leaks[0].Count, Is.EqualTo(1), report.ToString());
        return report.Leaks[0];
    }

    private static TaskLeakReport WaitForLeaks()
    {
        TaskLeakReport report = TaskLeakDetector.DetectNow();
        var clock = Stopwatch.StartNew();
        while (report.IsEmpty && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            Thread.Sleep(10);
            report = TaskLeakDetector.DetectNow();
        }

        return report;
    }

    private static int Line(string marker, [CallerFilePath] string testFile = "")
    {
        string[] lines = File.ReadAllLines(Path.Combine(Path.GetDirectoryName(testFile)!, "RuntimeAsyncScenarios.cs"));
        int index = Array.FindIndex(lines, l => l.EndsWith("// " + marker, StringComparison.Ordinal));
        Assert.That(index, Is.GreaterThanOrEqualTo(0), marker);
        return index + 1;
    }
}
