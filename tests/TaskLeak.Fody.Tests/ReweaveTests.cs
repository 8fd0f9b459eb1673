using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Fody;
using Mono.Cecil;
using Mono.Cecil.Cil;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>Weaving an already-woven module changes nothing: no second set of hooks, the same reports.</summary>
[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class ReweaveTests(Build build)
{
    [Test]
    public void Weaving_the_woven_output_again_is_a_no_op()
    {
        TestResult once = WovenAssemblies.Get(build);
        TestResult twice = WovenAssemblies.Weave(build, "Rewoven", path: once.AssemblyPath);

        Assert.That(twice.Messages.Select(m => m.Text), Has.Some.Match("^TaskLeak: [^:]+: module already woven; nothing to do.$"));
        Assert.That(twice.Warnings, Is.Empty, "the skip warnings were given the first time");
        Assert.That(HookCalls(twice.AssemblyPath), Is.EqualTo(HookCalls(once.AssemblyPath)).And.Positive);
        Assert.That(WovenAssemblies.Sites(twice), Is.EqualTo(WovenAssemblies.Sites(once)));

        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        StartAndDrop(twice);
        TaskLeakGroup leak = TaskLeakDetector.DetectNow().Leaks.Single();
        Assert.That(leak.Method, Is.EqualTo("AssemblyToProcess.MethodShapes.TaskOfTAsync"));
        Assert.That(leak.Count, Is.EqualTo(1));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartAndDrop(TestResult result) =>
        WovenAssemblies.Call(result.Assembly, "MethodShapes", "TaskOfTAsync", new TaskCompletionSource<int>().Task);

    private static int HookCalls(string path)
    {
        using ModuleDefinition module = ModuleDefinition.ReadModule(path);
        return module.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody).SelectMany(m => m.Body.Instructions)
            .Count(i => i.OpCode.Code == Code.Call && i.Operand is MethodReference { DeclaringType.Name: "TaskLeakHooks" });
    }
}
