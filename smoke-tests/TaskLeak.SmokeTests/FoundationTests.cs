using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace TaskLeak.SmokeTests;

/// <summary>The foundation's verdicts, on code woven by the real Fody build.</summary>
[NonParallelizable] // Woven code reports to the process's one default detector, which these tests reset and whose leaks they count.
public class FoundationTests
{
    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        Scenarios.FinallyRuns = 0;
    }

    [Test]
    public void A_dropped_completion_source_is_a_proven_leak()
    {
        Scenarios.StartDropped();

        TaskLeakReport report = TaskLeakDetector.DetectNow();

        TaskLeakGroup leak = report.Leaks.Single();
        Assert.That(leak.Method, Is.EqualTo("TaskLeak.SmokeTests.Scenarios.AwaitSourceAsync"));
        Assert.That(leak.AwaitSite, Is.EqualTo("Scenarios.cs:" + LineOf("await source.Task;", 1)));
        Assert.That(leak.WaitTarget, Is.EqualTo("TaskCompletionSource<int>.Task (Task<int>)"));
        Assert.That(leak.CreationStack, Does.Contain("StartDropped"));
        Assert.That(Scenarios.FinallyRuns, Is.Zero, "a leaked frame never runs its finally");
    }

    [Test]
    public async Task A_source_completed_later_is_not_a_leak()
    {
        var source = new TaskCompletionSource<int>();
        Task task = Scenarios.AwaitSourceAsync(source);
        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
        source.SetResult(1);
        await task;

        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
        Assert.That(Scenarios.FinallyRuns, Is.EqualTo(1));
    }

    [Test]
    public void A_source_held_in_a_static_is_never_a_proven_leak()
    {
        Scenarios.StartHeldInStaticDroppingTask();
        try
        {
            Assert.That(TaskLeakDetector.DetectNow().IsEmpty, "reachable but stuck: the stalled tier's business, not a proof");
            Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1));
        }
        finally
        {
            Scenarios.Held!.SetResult(0);
            Scenarios.Held = null;
        }

        SpinWait.SpinUntil(() => TaskLeakDetector.PendingCount == 0, TimeSpan.FromSeconds(10));
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
    }

    [Test]
    public void A_chain_is_reported_once_rooted_at_the_innermost_await()
    {
        Scenarios.StartChain();

        TaskLeakReport report = TaskLeakDetector.DetectNow();

        TaskLeakGroup leak = report.Leaks.Single();
        Assert.That(leak.Method, Is.EqualTo("TaskLeak.SmokeTests.Scenarios.InnerAsync"));
        Assert.That(leak.AwaitedBy, Has.Count.EqualTo(2));
        Assert.That(leak.AwaitedBy[0], Does.StartWith("TaskLeak.SmokeTests.Scenarios.MiddleAsync (Scenarios.cs:"));
        Assert.That(leak.AwaitedBy[1], Does.StartWith("TaskLeak.SmokeTests.Scenarios.OuterAsync (Scenarios.cs:"));
        Assert.That(leak.Chain, Does.Contain("InnerAsync").And.Contain("\u2190 awaited by TaskLeak.SmokeTests.Scenarios.MiddleAsync"));
    }

    [Test]
    public void A_frame_revived_by_a_finalizer_is_not_a_leak()
    {
        Scenarios.StartCompletedByFinalizer();

        TaskLeakReport report = TaskLeakDetector.DetectNow();
        SpinWait.SpinUntil(() => Volatile.Read(ref Scenarios.FinallyRuns) == 1, TimeSpan.FromSeconds(10));

        Assert.That(report.IsEmpty, report.ToString());
        Assert.That(Scenarios.FinallyRuns, Is.EqualTo(1), "the finalizer completed the source, so the method resumed");
        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
    }

    [Test]
    public void Faulted_and_cancelled_operations_are_not_leaks()
    {
        var faulted = new TaskCompletionSource<int>();
        var cancelled = new TaskCompletionSource<int>();
        Task first = Scenarios.AwaitSourceAsync(faulted);
        Task second = Scenarios.AwaitSourceAsync(cancelled);
        faulted.SetException(new InvalidOperationException("expected"));
        cancelled.SetCanceled();

        Assert.That(() => first.GetAwaiter().GetResult(), Throws.InvalidOperationException);
        Assert.That(() => second.GetAwaiter().GetResult(), Throws.InstanceOf<TaskCanceledException>());
        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
    }

    private static int LineOf(string text, int occurrence, [System.Runtime.CompilerServices.CallerFilePath] string testFile = "")
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(testFile)!, "Scenarios.cs");
        string[] lines = System.IO.File.ReadAllLines(path);
        int seen = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains(text, StringComparison.Ordinal) && ++seen == occurrence)
            {
                return i + 1;
            }
        }

        throw new InvalidOperationException(text + " not found");
    }
}
