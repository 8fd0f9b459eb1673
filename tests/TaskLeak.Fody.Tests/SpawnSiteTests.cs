using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using System.Xml.Linq;
using Fody;
using Mono.Cecil;
using Mono.Cecil.Cil;
using NUnit.Framework;
using TaskLeak.Fody;

namespace TaskLeak.Fody.Tests;

/// <summary>Task.Run, StartNew and new Task call sites: spawned work records where it was started.</summary>
[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class SpawnSiteTests(Build build)
{
    private const string Prefix = "AssemblyToProcess.SpawnSites.";
    private static readonly ConcurrentDictionary<Build, TestResult> s_withoutSpawnSites = new();

    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
    }

    [TestCase("RunAction", "Task.Run", "AwaitDroppedAsync")]
    [TestCase("RunActionToken", "Task.Run", "AwaitDroppedAsync")]
    [TestCase("RunFunc", "Task.Run", "AwaitDroppedAsync")]
    [TestCase("RunFuncToken", "Task.Run", "AwaitDroppedAsync")]
    [TestCase("RunFuncTask", "Task.Run", "RunFuncTask")]
    [TestCase("RunFuncTaskToken", "Task.Run", "RunFuncTaskToken")]
    [TestCase("RunFuncTaskOfT", "Task.Run", "RunFuncTaskOfT")]
    [TestCase("RunFuncTaskOfTToken", "Task.Run", "RunFuncTaskOfTToken")]
    [TestCase("FactoryAction", "Task.Factory.StartNew", "AwaitDroppedAsync")]
    [TestCase("FactoryLongRunning", "Task.Factory.StartNew", "AwaitDroppedAsync")]
    [TestCase("FactoryActionState", "Task.Factory.StartNew", "AwaitDroppedAsync")]
    [TestCase("FactoryActionTokenOptionsScheduler", "Task.Factory.StartNew", "AwaitDroppedAsync")]
    [TestCase("FactoryFunc", "Task.Factory.StartNew", "AwaitDroppedAsync")]
    [TestCase("FactoryFuncStateToken", "Task.Factory.StartNew", "AwaitDroppedAsync")]
    [TestCase("FactoryFuncTask", "Task.Factory.StartNew", "FactoryFuncTask")]
    [TestCase("FactoryOfT", "Task<int>.Factory.StartNew", "AwaitDroppedAsync")]
    [TestCase("FactoryOfTStateLongRunning", "Task<int>.Factory.StartNew", "AwaitDroppedAsync")]
    [TestCase("TaskFactoryInstance", "TaskFactory.StartNew", "AwaitDroppedAsync")]
    [TestCase("TaskFactoryOfTInstance", "TaskFactory<int>.StartNew", "AwaitDroppedAsync")]
    [TestCase("NewTaskStart", "new Task", "AwaitDroppedAsync")]
    [TestCase("NewTaskStateStart", "new Task", "AwaitDroppedAsync")]
    [TestCase("NewTaskTokenOptionsStart", "new Task", "AwaitDroppedAsync")]
    [TestCase("NewTaskOfTStart", "new Task<int>", "AwaitDroppedAsync")]
    [TestCase("NewTaskAsyncVoidStart", "new Task", "NewTaskAsyncVoidStart")]
    public void A_leak_in_spawned_work_names_its_spawn_site(string starter, string api, string leakedMethod)
    {
        WovenAssemblies.Call(build, "SpawnSites", starter);

        TaskLeakGroup leak = WaitForSingleLeak();

        Assert.That(leak.Method, Is.EqualTo(Prefix + leakedMethod));
        Assert.That(leak.Detail, Is.EqualTo(leakedMethod == starter ? "lambda" : ""));
        Assert.That(leak.AwaitSite, Does.Match(@"^SpawnSites\.cs:\d+$"));
        Assert.That(leak.WaitTarget, Does.StartWith("TaskCompletionSource<int>.Task"));
        string startedBy = api + " at SpawnSites.cs:" + SpawnLine(starter);
        Assert.That(leak.StartedBy, Is.EqualTo(startedBy));
        Assert.That(leak.Chain, Does.EndWith("\u2190 started by " + startedBy));
    }

    [Test]
    public void Task_Run_instantiated_with_a_method_type_parameter()
    {
        Type type = WovenAssemblies.Type(build, "SpawnSites");
        type.GetMethod("RunGeneric")!.MakeGenericMethod(typeof(string)).Invoke(null, new object?[] { "value" });

        Assert.That(WaitForSingleLeak().StartedBy, Is.EqualTo("Task.Run at SpawnSites.cs:" + SpawnLine("RunGeneric")));
    }

    [Test]
    public void TaskFactory_of_T_instantiated_with_a_type_parameter_of_the_enclosing_type()
    {
        Type type = WovenAssemblies.Assembly(build).GetType("AssemblyToProcess.GenericSpawner`1", throwOnError: true)!.MakeGenericType(typeof(long));
        type.GetMethod("StartNew")!.Invoke(null, null);

        Assert.That(WaitForSingleLeak().StartedBy, Is.EqualTo("Task<T>.Factory.StartNew at SpawnSites.cs:" + SpawnLine("GenericSpawner")));
    }

    [Test]
    public async Task A_spawn_call_in_an_async_method_is_woven_too()
    {
        await (Task)WovenAssemblies.Call(build, "SpawnSites", "RunFromAsyncMethodAsync")!;

        TaskLeakGroup leak = WaitForSingleLeak();
        Assert.That(leak.Method, Is.EqualTo(Prefix + "RunFromAsyncMethodAsync"));
        Assert.That(leak.StartedBy, Is.EqualTo("Task.Run at SpawnSites.cs:" + SpawnLine("RunFromAsyncMethodAsync")));
    }

    [Test]
    public void Work_spawned_from_spawned_work_names_the_innermost_spawn_site()
    {
        WovenAssemblies.Call(build, "SpawnSites", "NestedRun");

        Assert.That(WaitForSingleLeak().StartedBy, Is.EqualTo("Task.Run at SpawnSites.cs:" + SpawnLine("NestedInner")));
    }

    [TestCase("ThrowingSpawnThenLeak")]
    [TestCase("SpawnThenLeak")]
    public void The_caller_leaves_the_spawn_origin_when_the_spawn_call_returns_or_throws(string starter)
    {
        WovenAssemblies.Call(build, "SpawnSites", starter);

        TaskLeakGroup leak = WaitForSingleLeak();
        Assert.That(leak.Method, Is.EqualTo(Prefix + "AwaitDroppedAsync"));
        Assert.That(leak.StartedBy, Is.Null, "the leak was started by the caller itself, after the spawn call");
    }

    [Test]
    public async Task DoNotTrack_on_the_spawning_async_method_leaves_its_spawn_site_alone()
    {
        await (Task)WovenAssemblies.Call(build, "SpawnSites", "OptedOutSpawnAsync")!;

        TaskLeakGroup leak = WaitForSingleLeak();
        Assert.That(leak.Method, Is.EqualTo(Prefix + "AwaitDroppedAsync"));
        Assert.That(leak.StartedBy, Is.Null);
    }

    [TestCase("RunAwaiting")]
    [TestCase("RunActionAwaiting")]
    [TestCase("FactoryAwaiting")]
    [TestCase("NewTaskAwaiting")]
    public async Task Spawned_work_that_completes_reports_nothing(string starter)
    {
        var source = new TaskCompletionSource<int>();
        var task = (Task)WovenAssemblies.Call(build, "SpawnSites", starter, source)!;
        Assert.That(SpinWaitUntil(() => TaskLeakDetector.PendingCount == 1), "the spawned work suspended on the source");
        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty, "suspended but reachable through the source");

        source.SetResult(41);
        await task;

        Assert.That(SpinWaitUntil(() => TaskLeakDetector.PendingCount == 0));
        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty);
    }

    [Test]
    public async Task Awaiting_spawned_work_describes_the_spawn_call_as_the_wait_target()
    {
        var source = new TaskCompletionSource<int>();
        var task = (Task<int>)WovenAssemblies.Call(build, "SpawnSites", "AwaitSpawnedAsync", source)!;
        Assert.That(SpinWaitUntil(() => TaskLeakDetector.Snapshot().Groups.Any(g => g.Method == Prefix + "AwaitSpawnedAsync")), "suspended");
        PendingOperationGroup awaiting = TaskLeakDetector.Snapshot().Groups.Single(g => g.Method == Prefix + "AwaitSpawnedAsync");
        Assert.That(awaiting.WaitTarget, Does.StartWith("Task.Run(\u2026)"));

        source.SetResult(1);
        Assert.That(await task, Is.EqualTo(2));
    }

    [Test]
    public void The_summary_counts_spawn_sites_and_the_wrappers_exist()
    {
        TestResult result = WovenAssemblies.Get(build);
        Assert.That(result.Messages.Select(m => m.Text), Has.Some.Match(@"[1-9][0-9]* spawn sites woven"));
        Assert.That(result.Assembly.GetType(ModuleWeaver.SpawnTypeName), Is.Not.Null);
        Assert.That(CallsTo(result, "RunAction", "System.Threading.Tasks.Task::Run"), Is.False, "the call site goes through the wrapper");
    }

    [Test]
    public void TrackSpawnSites_false_leaves_every_call_site_untouched()
    {
        TestResult result = WithoutSpawnSites(build);

        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Messages.Select(m => m.Text), Has.Some.Contains(" 0 spawn sites woven"));
        Assert.That(result.Assembly.GetType(ModuleWeaver.SpawnTypeName), Is.Null);
        Assert.That(CallsTo(result, "RunAction", "System.Threading.Tasks.Task::Run"), Is.True);
        Assert.That(CallsTo(result, "FactoryAction", "System.Threading.Tasks.TaskFactory::StartNew"), Is.True);

        result.Assembly.GetType("AssemblyToProcess.SpawnSites", throwOnError: true)!
            .GetMethod("RunAction", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, null);
        TaskLeakGroup leak = WaitForSingleLeak();
        Assert.That(leak.Method, Is.EqualTo(Prefix + "AwaitDroppedAsync"), "async methods are still woven");
        Assert.That(leak.StartedBy, Is.Null);
    }

    private static TestResult WithoutSpawnSites(Build build) => s_withoutSpawnSites.GetOrAdd(build, b =>
    {
        string name = b == Build.Debug ? "AssemblyToProcess" : "AssemblyToProcessOptimized";
        var weaver = new ModuleWeaver { Config = XElement.Parse("<TaskLeak TrackSpawnSites=\"false\" />") };
        return weaver.ExecuteTestRun(Path.Combine(AppContext.BaseDirectory, name + ".dll"), runPeVerify: false,
            assemblyName: name + ".NoSpawnSites", writeSymbols: true);
    });

    /// <summary>Whether <c>SpawnSites.<paramref name="method"/></c> of the woven file still calls <paramref name="callee"/> directly.</summary>
    private static bool CallsTo(TestResult result, string method, string callee)
    {
        using ModuleDefinition module = ModuleDefinition.ReadModule(result.AssemblyPath);
        MethodDefinition definition = module.GetType("AssemblyToProcess.SpawnSites").Methods.Single(m => m.Name == method);
        return definition.Body.Instructions.Any(i =>
            i.OpCode.Code is Code.Call or Code.Callvirt && i.Operand is MethodReference m &&
            (m.DeclaringType.GetElementType().FullName + "::" + m.Name) == callee);
    }

    /// <summary>Spawned work runs on another thread: sweep until its leak is proven (bounded), then expect exactly one.</summary>
    private static TaskLeakGroup WaitForSingleLeak()
    {
        TaskLeakReport report = TaskLeakDetector.DetectNow();
        var clock = Stopwatch.StartNew();
        while (report.Leaks.Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            System.Threading.Thread.Sleep(10);
            report = TaskLeakDetector.DetectNow();
        }

        Assert.That(report.Leaks, Has.Count.EqualTo(1), report.ToString());
        Assert.That(report.Leaks[0].Count, Is.EqualTo(1), report.ToString());
        return report.Leaks[0];
    }

    private static bool SpinWaitUntil(Func<bool> condition) => System.Threading.SpinWait.SpinUntil(condition, TimeSpan.FromSeconds(20));

    private static int SpawnLine(string name, [CallerFilePath] string testFile = "")
    {
        string path = Path.Combine(Path.GetDirectoryName(testFile)!, "..", "AssemblyToProcess", "SpawnSites.cs");
        string[] lines = File.ReadAllLines(path);
        int index = Array.FindIndex(lines, l => l.EndsWith("// spawn:" + name, StringComparison.Ordinal));
        Assert.That(index, Is.GreaterThanOrEqualTo(0), "marker spawn:" + name);
        return index + 1;
    }
}
