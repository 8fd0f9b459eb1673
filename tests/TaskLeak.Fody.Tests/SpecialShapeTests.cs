using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>The shapes whose proof or description needs more than the five common paths show.</summary>
[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class SpecialShapeTests(Build build)
{
    private static TaskCompletionSource<int>? s_held;

    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
    }

    [TearDown]
    public void TearDown()
    {
        s_held?.TrySetResult(0);
        s_held = null;
    }

    [Test]
    public async Task A_pooled_box_reused_by_a_live_operation_is_never_reported_and_a_dropped_one_is()
    {
        WarmPool();
        StartPooledAndDrop();
        ValueTask<int> live = StartPooledHeld();

        TaskLeakReport report = TaskLeakDetector.DetectNow();

        Assert.That(report.Leaks, Has.Count.EqualTo(1), report.ToString());
        Assert.That(report.Leaks[0].Count, Is.EqualTo(1));
        Assert.That(report.Leaks[0].Method, Is.EqualTo("AssemblyToProcess.MethodShapes.PooledOfTAsync"));
        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1), "the held operation is tracked, not leaked");
        s_held!.SetResult(41);
        s_held = null;
        Assert.That(await live, Is.EqualTo(42));
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
        Assert.That(TaskLeakDetector.DetectNow().Leaks, Has.Count.EqualTo(1), "nothing new");
    }

    [Test]
    public void An_exception_escaping_async_void_goes_to_its_context_and_releases_the_operation()
    {
        var context = new CapturingContext();
        var gate = new TaskCompletionSource<int>();
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            WovenAssemblies.Call(build, "MethodShapes", "VoidThrowsAsync", gate.Task);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1));
        gate.SetResult(0);

        Assert.That(context.Exceptions.Select(e => e.Message), Is.EqualTo(new[] { "escaped from async void" }));
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty);
    }

    [Test]
    public void A_dropped_semaphore_is_reported_as_its_WaitAsync()
    {
        StartSemaphoreAndDrop();

        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();

        Assert.That(leak.Method, Is.EqualTo("AssemblyToProcess.AwaitShapes.SemaphoreAsync"));
        Assert.That(leak.AwaitSite, Is.EqualTo("AwaitShapes.cs:" + WovenAssemblies.LineOf("AwaitShapes.cs", "await:Semaphore")));
        Assert.That(leak.WaitTarget, Is.EqualTo("SemaphoreSlim.WaitAsync() (SemaphoreSlim.TaskNode)"));
    }

    [Test]
    public void A_child_awaited_through_ConfigureAwait_is_linked_to_its_awaiter()
    {
        StartConfigureAwaitChainAndDrop();

        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();

        Assert.That(leak.Method, Is.EqualTo("AssemblyToProcess.AwaitShapes.ChildAsync"));
        Assert.That(leak.AwaitedBy, Is.EqualTo(new[]
        {
            "AssemblyToProcess.AwaitShapes.ConfigureAwaitChildAsync (AwaitShapes.cs:" + WovenAssemblies.LineOf("AwaitShapes.cs", "await:ConfigureAwaitChild") + ")",
        }), "the captured task is the child's box: the chain is one leak rooted at the child");
    }

    [Test]
    public void The_implicit_DisposeAsync_of_a_using_declaration_is_reported_at_the_declaration()
    {
        StartUsingDeclarationAndDrop();

        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();

        Assert.That(leak.Method, Is.EqualTo("AssemblyToProcess.AwaitShapes.UsingDeclarationAsync"));
        Assert.That(leak.AwaitSite, Is.EqualTo("AwaitShapes.cs:" + WovenAssemblies.LineOf("AwaitShapes.cs", "await:UsingDeclaration")),
            "not the block's last statement, which the hidden disposal code follows");
        Assert.That(leak.WaitTarget, Is.EqualTo("GatedResource.DisposeAsync() (GatedResource)"));
    }

    [TestCase("await:Yield", "Task.Yield()")]
    [TestCase("await:ConfigureAwaitChild", "AwaitShapes.ChildAsync(\u2026).ConfigureAwait(false)")]
    [TestCase("await:Semaphore", "SemaphoreSlim.WaitAsync()")]
    [TestCase("await:Channel", "Channel<int>.Reader.ReadAsync(\u2026)")]
    [TestCase("await:WaitAsync", "Task<int>.WaitAsync(\u2026)")]
    [TestCase("await:Conditional", "Task<int>")]
    [TestCase("await:DisposeAsync", "Task.Yield()")]
    public void The_site_table_records_the_awaited_expression_as_written(string marker, string target)
    {
        string file = marker == "await:DisposeAsync" ? "IteratorShapes.cs" : "AwaitShapes.cs";
        int line = WovenAssemblies.LineOf(file, marker);

        SiteRowView site = WovenAssemblies.Sites(WovenAssemblies.Get(build)).Single(s => s.Location == file + ":" + line);

        Assert.That(site.Target, Is.EqualTo(target));
    }

    [Test]
    public void Every_await_site_has_a_line_and_a_description()
    {
        // SiteLocations.cs holds the sites whose right answer is no line (SiteLocationTests).
        IReadOnlyList<SiteRowView> sites = WovenAssemblies.Sites(WovenAssemblies.Get(build))
            .Where(s => !s.Method.StartsWith("AssemblyToProcess.SiteLocations.", StringComparison.Ordinal)).ToList();

        Assert.That(sites, Is.Not.Empty);
        Assert.That(sites.Where(s => s.Line <= 0 || s.Target.Length == 0), Is.Empty);
    }

    private ValueTask<int> Pooled(Task<int> gate) => (ValueTask<int>)WovenAssemblies.Call(build, "MethodShapes", "PooledOfTAsync", gate)!;

    /// <summary>
    /// Completed operations return their boxes to the pool, and the next calls reuse them. Not async: a ValueTask kept
    /// in a frame across an await would keep a reused box, and the frame now in it, reachable (no proof, no report).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WarmPool()
    {
        for (int i = 0; i < 8; i++)
        {
            var gate = new TaskCompletionSource<int>();
            ValueTask<int> pooled = Pooled(gate.Task);
            gate.SetResult(i);
            Assert.That(pooled.GetAwaiter().GetResult(), Is.EqualTo(i + 1));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartPooledAndDrop() => Pooled(new TaskCompletionSource<int>().Task);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<int> StartPooledHeld()
    {
        s_held = new TaskCompletionSource<int>();
        return Pooled(s_held.Task);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartSemaphoreAndDrop() =>
        WovenAssemblies.Call(build, "AwaitShapes", "SemaphoreAsync", new SemaphoreSlim(0), Task.FromResult(0));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartUsingDeclarationAndDrop() =>
        WovenAssemblies.Call(build, "AwaitShapes", "UsingDeclarationAsync", new TaskCompletionSource<int>().Task);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartConfigureAwaitChainAndDrop() =>
        WovenAssemblies.Call(build, "AwaitShapes", "ConfigureAwaitChildAsync", new TaskCompletionSource<int>().Task);

    /// <summary>Runs posted work inline and keeps what it throws: where an async void's escaping exception goes.</summary>
    private sealed class CapturingContext : SynchronizationContext
    {
        public List<Exception> Exceptions { get; } = new();

        public override void Post(SendOrPostCallback callback, object? state)
        {
            try
            {
                callback(state);
            }
            catch (Exception exception)
            {
                Exceptions.Add(exception);
            }
        }
    }
}
