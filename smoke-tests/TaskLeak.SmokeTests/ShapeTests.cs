using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using NUnit.Framework;

namespace TaskLeak.SmokeTests;

/// <summary>The weaver's shapes on code woven by the real Fody build: leaks named and located, completions silent.</summary>
/// <remarks>This project is woven too: the fixture's own async tests would count as pending operations while they await.</remarks>
[NonParallelizable] // Woven code reports to the process's one default detector, which these tests reset and whose leaks they count.
[DoNotTrack]
public class ShapeTests
{
    private const string Type = "TaskLeak.SmokeTests.ShapeScenarios.";

    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
    }

    [TestCase(nameof(ShapeScenarios.StartValueTask), "ValueTaskAsync", "await:ValueTask", "gate (Task<int>)")]
    [TestCase(nameof(ShapeScenarios.StartPooled), "PooledAsync", "await:Pooled", "gate (Task<int>)")]
    [TestCase(nameof(ShapeScenarios.StartVoid), "VoidAsync", "await:Void", "gate (Task<int>)")]
    [TestCase(nameof(ShapeScenarios.StartIterator), "IteratorAsync", "await:Iterator", "gate (Task<int>)")]
    [TestCase(nameof(ShapeScenarios.StartLambda), "Run", "await:Lambda", "gate (Task<int>)")]
    [TestCase(nameof(ShapeScenarios.StartChannel), "ReadAsync", "await:Channel", "Channel<int>.Reader.ReadAsync(\u2026)")]
    public void A_dropped_awaitable_is_a_leak_at_its_await(string starter, string method, string marker, string waitTarget)
    {
        typeof(ShapeScenarios).GetMethod(starter)!.Invoke(null, null);

        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();

        Assert.That(leak.Method, Is.EqualTo(Type + method));
        Assert.That(leak.AwaitSite, Is.EqualTo("ShapeScenarios.cs:" + LineOf(marker)));
        Assert.That(leak.WaitTarget, Is.EqualTo(waitTarget));
    }

    [Test]
    public void A_method_of_a_nested_generic_type_is_named_as_written()
    {
        ShapeScenarios.StartNestedGeneric();

        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();

        Assert.That(leak.Method, Is.EqualTo(Type + "Outer<T>.Inner<U>.EchoAsync"));
        Assert.That(leak.AwaitSite, Is.EqualTo("ShapeScenarios.cs:" + LineOf("await:NestedGeneric")));
    }

    [Test]
    public void A_chain_through_ConfigureAwait_is_one_leak_rooted_at_the_inner_await()
    {
        ShapeScenarios.StartChain();

        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();

        Assert.That(leak.Method, Is.EqualTo(Type + "InnerAsync"));
        Assert.That(leak.AwaitedBy, Is.EqualTo(new[] { Type + "OuterAsync (ShapeScenarios.cs:" + LineOf("await:Outer") + ")" }));
    }

    [Test]
    public async Task Completed_shapes_are_not_reported()
    {
        var gate = new TaskCompletionSource<int>();
        ValueTask<int> value = ShapeScenarios.ValueTaskAsync(gate.Task);
        ValueTask<int> pooled = ShapeScenarios.PooledAsync(gate.Task);
        // Asynchronous continuations: this test must not resume inside the async void's body, which signals before it completes.
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        ShapeScenarios.VoidAsync(gate.Task, done);
        Task<int> lambda = ShapeScenarios.Run(gate.Task);
        Task<int> chain = ShapeScenarios.OuterAsync(gate.Task);
        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(6), "each suspended (the chain twice)");

        gate.SetResult(41);

        Assert.That(new[] { await value, await pooled, await done.Task, await lambda, await chain }, Is.All.EqualTo(42));
        int count = 0;
        await foreach (int item in ShapeScenarios.IteratorAsync(Task.FromResult(2)))
        {
            count += item;
        }

        Assert.That(count, Is.EqualTo(3));

        // The async void signalled done from its body, before its builder completed: the release may still be on its way.
        SpinWait.SpinUntil(() => TaskLeakDetector.PendingCount == 0, TimeSpan.FromSeconds(10));
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero, TaskLeakDetector.Snapshot().ToString());
        Assert.That(TaskLeakDetector.DetectNow().IsEmpty);
    }

    /// <summary>Fody generated the running project's FodyWeavers.xsd from the weaver's xcf during this build: the root copy must match it.</summary>
    [Test]
    public void The_root_FodyWeavers_xsd_is_what_Fody_generates()
    {
        // The running project (this source is compiled by both smoke-test projects), from its bin/<Configuration>/<tfm>/.
        string project = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", ".."));
        XDocument generated = XDocument.Load(Path.Combine(project, "FodyWeavers.xsd"));
        XDocument root = XDocument.Load(Path.Combine(project, "..", "..", "FodyWeavers.xsd"));

        Assert.That(root.ToString(), Is.EqualTo(generated.ToString()));
    }

    private static string Here([CallerFilePath] string path = "") => path;

    private static int LineOf(string marker)
    {
        string[] lines = File.ReadAllLines(Path.Combine(Path.GetDirectoryName(Here())!, "ShapeScenarios.cs"));
        int[] found = Enumerable.Range(0, lines.Length).Where(i => lines[i].TrimEnd().EndsWith("// " + marker, StringComparison.Ordinal)).ToArray();
        return found.Length == 1 ? found[0] + 1 : throw new InvalidOperationException(marker + " found " + found.Length + " times");
    }
}
