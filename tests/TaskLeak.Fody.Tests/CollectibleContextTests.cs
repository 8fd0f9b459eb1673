using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using System.Threading.Tasks;
using Mono.Cecil;
using Mono.Cecil.Cil;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>
/// The runtime holds no user type: a woven plugin in a collectible AssemblyLoadContext leaks, is reported (its wait
/// target is a type of the plugin), and still unloads. And a plugin whose site table the runtime refuses still runs.
/// </summary>
[NonParallelizable] // Woven code reports to the process's default detector, which the other fixtures here reset.
public class CollectibleContextTests
{
    [Test]
    public void A_leaking_plugin_in_a_collectible_context_is_reported_and_then_unloads()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        string path = WovenAssemblies.Get(Build.Debug).AssemblyPath;

        WeakReference context = LeakInPlugin(path);
        TaskLeakReport report = TaskLeakDetector.DetectNow();

        TaskLeakGroup leak = report.Leaks.Single(g => g.Method == "AssemblyToProcess.AwaitShapes.ExtensionAwaitableAsync");
        Assert.That(leak.WaitTarget, Does.EndWith("(GateBox)"), "the wait target names the plugin's type");
        for (int i = 0; i < 20 && context.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(context.IsAlive, Is.False, "nothing in the runtime keeps the plugin's context loaded");
    }

    [Test]
    public void A_plugin_whose_site_table_is_refused_runs_untracked_and_the_refusal_is_reported()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        string path = Path.Combine(Path.GetDirectoryName(WovenAssemblies.Get(Build.Debug).AssemblyPath)!, "AssemblyToProcess.FutureTable.dll");
        using (ModuleDefinition module = ModuleDefinition.ReadModule(WovenAssemblies.Get(Build.Debug).AssemblyPath))
        {
            TypeDefinition table = module.Types.Single(t => t.Name == "<TaskLeak>Sites");
            Instruction load = table.Methods.Single(m => m.IsConstructor && m.IsStatic).Body.Instructions.First(i => i.OpCode == OpCodes.Ldstr);
            load.Operand = "TaskLeakSites:99" + ((string)load.Operand).Substring("TaskLeakSites:1".Length);
            module.Name = "AssemblyToProcess.FutureTable.dll";
            module.Assembly.Name.Name = "AssemblyToProcess.FutureTable";
            module.Write(path);
        }

        var context = new AssemblyLoadContext("future-table", isCollectible: true);
        try
        {
            Assembly plugin = context.LoadFromAssemblyPath(path);
            int before = TaskLeakDetector.PendingCount;
            var source = new TaskCompletionSource<int>();
            var task = (Task<int>)WovenAssemblies.Call(plugin, "BasicShapes", "AwaitSourceOfTAsync", source)!;
            int pending = TaskLeakDetector.PendingCount;
            source.SetResult(1);

            Assert.That(task.Result, Is.EqualTo(2), "the module runs as woven");
            Assert.That(pending, Is.EqualTo(before), "untracked");
            WovenAssemblies.Call(plugin, "BasicShapes", "StartDroppedTask");
            Assert.That(TaskLeakDetector.DetectNow().IsEmpty, "its leaks are not tracked");
            Assert.That(TaskLeakDetector.ConfigurationErrors,
                Has.Some.StartsWith("Tracking is off for module AssemblyToProcess.FutureTable: the site table has version 99"));
        }
        finally
        {
            context.Unload();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference LeakInPlugin(string path)
    {
        var context = new AssemblyLoadContext("plugin", isCollectible: true);
        Assembly plugin = context.LoadFromAssemblyPath(path);
        _ = WovenAssemblies.Call(plugin, "AwaitShapes", "ExtensionAwaitableAsync", new TaskCompletionSource<int>().Task);
        context.Unload();
        return new WeakReference(context);
    }
}
