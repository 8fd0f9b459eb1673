using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Fody;
using Mono.Cecil;
using Mono.Cecil.Cil;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>What the weaver tells the build: one summary line per assembly, and a located warning for each method it skips.</summary>
[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class DiagnosticsTests(Build build)
{
    private const string HandWrittenType = "AssemblyToProcess.HandWritten/StateMachine";

    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
    }

    [Test]
    public void The_summary_counts_what_was_woven_and_what_was_skipped()
    {
        TestResult result = WovenAssemblies.Get(build);
        (int methods, int awaits, int optedOut) = CountCompilerStateMachines(WovenAssemblies.SourcePath(build));

        string summary = result.Messages.Select(m => m.Text).Single(m => m.StartsWith("TaskLeak: ", StringComparison.Ordinal));
        IReadOnlyList<SiteRowView> sites = WovenAssemblies.Sites(result);
        int spawns = sites.Count(s => s.Kind == "S");

        // OptOut.cs's six opted-out state machines and SpawnSites.cs's [DoNotTrack] spawner.
        Assert.That(optedOut, Is.EqualTo(7));
        Assert.That(spawns, Is.GreaterThan(0));
        Assert.That(summary, Is.EqualTo(
            $"TaskLeak: {result.Assembly.GetName().Name}: {methods} async methods, {awaits} await sites, {spawns} spawn sites woven; 1 skipped (see warnings); {optedOut} excluded by configuration or [DoNotTrack]"));
        Assert.That(sites.Count(s => s.Kind == "A"), Is.EqualTo(awaits), "one site row per woven await");
    }

    [Test]
    public void A_method_the_weaver_does_not_understand_gets_a_warning_at_its_first_line()
    {
        SequencePointMessage warning = WovenAssemblies.Get(build).Warnings.Single();

        Assert.That(warning.Text, Is.EqualTo(
            "TL0001: AssemblyToProcess.HandWritten.HandWrittenAsync was not woven: its state machine has no builder field the weaver " +
            "recognises. It runs unchanged and its leaks will not be reported. [DoNotTrack] on it, or NoWarn TL0001, silences this."));
        AssertAtKickoff(warning);
    }

    [Test]
    public async Task A_skipped_method_is_left_untouched_and_still_runs()
    {
        TestResult result = WovenAssemblies.Get(build);
        AssertUntouched(result);
        await AssertRunsUntracked(result);
    }

    [Test]
    public async Task A_recognised_builder_reached_another_way_skips_the_whole_method()
    {
        // The builder now has the compiler's name, so its SetResult/SetException are recognised; the await is not
        // (it goes through a ref local). Nothing may be woven: a half-woven method would register and never release.
        TestResult result = WovenAssemblies.Weave(build, "RenamedBuilder", before: module =>
        {
            TypeDefinition machine = module.GetType(HandWrittenType);
            FieldDefinition builder = machine.Fields.Single(f => f.Name == "Builder");
            builder.Name = "<>t__builder";
            ThroughRefLocal(machine.Methods.Single(m => m.Name == "MoveNext").Body, builder);
        });

        SequencePointMessage warning = result.Warnings.Single();
        Assert.That(warning.Text, Does.Match(
            @"^TL0001: AssemblyToProcess\.HandWritten\.HandWrittenAsync was not woven: the await at IL_[0-9a-f]{4} does not go through the state machine's builder\. " +
            @"It runs unchanged and its leaks will not be reported\. \[DoNotTrack\] on it, or NoWarn TL0001, silences this\.$"));
        AssertAtKickoff(warning);
        AssertUntouched(result);
        await AssertRunsUntracked(result);
    }

    [Test]
    public async Task A_state_machine_outside_the_module_is_skipped_at_its_kickoff()
    {
        TestResult result = WovenAssemblies.Weave(build, "ForeignStateMachine", before: module =>
        {
            MethodDefinition kickoff = module.GetType("AssemblyToProcess.HandWritten").Methods.Single(m => m.Name == "HandWrittenAsync");
            CustomAttribute marker = kickoff.CustomAttributes.Single(a => a.AttributeType.Name == "AsyncStateMachineAttribute");
            marker.ConstructorArguments[0] = new CustomAttributeArgument(marker.ConstructorArguments[0].Type, module.TypeSystem.Object);
        });

        SequencePointMessage warning = result.Warnings.Single();
        Assert.That(warning.Text, Is.EqualTo(
            "TL0001: AssemblyToProcess.HandWritten.HandWrittenAsync was not woven: its state machine type could not be found in this module. " +
            "It runs unchanged and its leaks will not be reported. [DoNotTrack] on it, or NoWarn TL0001, silences this."));
        AssertAtKickoff(warning);
        await AssertRunsUntracked(result);
    }

    /// <summary>
    /// Makes the await reach the builder through a ref local, as HandWritten.cs writes it: an optimizing compilation
    /// may drop the local, and then the shape is the compiler's own (and rightly woven).
    /// </summary>
    private static void ThroughRefLocal(MethodBody body, FieldDefinition builder)
    {
        Instruction await = body.Instructions.Single(i => i.Operand is MethodReference { Name: "AwaitUnsafeOnCompleted" });
        Instruction load = body.Instructions.Last(i => i.Offset < await.Offset && i.OpCode == OpCodes.Ldflda && ((FieldReference)i.Operand).Name == builder.Name);
        if (load.Next.OpCode.Code is Code.Stloc or Code.Stloc_S)
        {
            return;
        }

        var local = new VariableDefinition(new ByReferenceType(builder.FieldType));
        body.Variables.Add(local);
        ILProcessor il = body.GetILProcessor();
        Instruction reload = il.Create(OpCodes.Ldloc, local);
        il.InsertAfter(load, reload);
        il.InsertAfter(load, il.Create(OpCodes.Stloc, local));
    }

    /// <summary>The kickoff method's first sequence point: its opening brace unoptimized, its first statement optimized.</summary>
    private void AssertAtKickoff(SequencePointMessage warning)
    {
        int statement = WovenAssemblies.LineOf("HandWritten.cs", "location:HandWritten");
        Assert.That(warning.SequencePoint, Is.Not.Null);
        Assert.That(warning.SequencePoint!.Document.Url, Does.EndWith("HandWritten.cs"));
        Assert.That(warning.SequencePoint.StartLine, Is.EqualTo(build == Build.Debug ? statement - 1 : statement));
    }

    private static void AssertUntouched(TestResult result)
    {
        using ModuleDefinition module = ModuleDefinition.ReadModule(result.AssemblyPath);
        TypeDefinition machine = module.GetType(HandWrittenType);
        Assert.That(machine.Fields.Select(f => f.Name), Has.None.StartsWith("<>tl__"));
        Assert.That(machine.Methods.Single(m => m.Name == "MoveNext").Body.Instructions.Select(i => i.Operand).OfType<MethodReference>()
            .Select(m => m.DeclaringType.FullName), Has.None.EqualTo("TaskLeak.CompilerServices.TaskLeakHooks"));
    }

    private static async Task AssertRunsUntracked(TestResult result)
    {
        var source = new TaskCompletionSource<int>();
        var task = (Task<int>)WovenAssemblies.Call(result.Assembly, "HandWritten", "HandWrittenAsync", source.Task)!;
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
        source.SetResult(41);
        Assert.That(await task, Is.EqualTo(42));

        StartAndDrop(result);
        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty, "an untouched method cannot be reported");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartAndDrop(TestResult result) =>
        WovenAssemblies.Call(result.Assembly, "HandWritten", "HandWrittenAsync", new TaskCompletionSource<int>().Task);

    /// <summary>
    /// Counts, in the unwoven module, compiler state machines with at least one await and their awaits, apart from
    /// those under [DoNotTrack] in OptOut.cs (counted separately, each with one await).
    /// </summary>
    private static (int Methods, int Awaits, int OptedOut) CountCompilerStateMachines(string path)
    {
        using ModuleDefinition module = ModuleDefinition.ReadModule(path);
        int methods = 0;
        int awaits = 0;
        int optedOut = 0;
        foreach (TypeDefinition type in module.GetTypes().Where(t => t.Name.StartsWith("<", StringComparison.Ordinal)))
        {
            MethodDefinition? moveNext = type.Methods.FirstOrDefault(m => m.Name == "MoveNext" && m.HasBody);
            int count = moveNext?.Body.Instructions.Count(i =>
                i.OpCode.Code is Code.Call or Code.Callvirt && i.Operand is MethodReference { Name: "AwaitUnsafeOnCompleted" or "AwaitOnCompleted" }) ?? 0;
            if (count == 0)
            {
                continue;
            }

            if (type.FullName.Contains("OptedOut", StringComparison.Ordinal))
            {
                optedOut++;
                continue;
            }

            methods++;
            awaits += count;
        }

        return (methods, awaits, optedOut);
    }
}
