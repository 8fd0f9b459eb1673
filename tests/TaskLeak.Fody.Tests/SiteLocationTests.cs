using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fody;
using Mono.Cecil;
using Mono.Cecil.Cil;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>
/// One site pipeline: the same sources compiled to state machines (AssemblyToProcess, AssemblyToProcessOptimized) and
/// to runtime-async methods (AssemblyToProcessRuntimeAsync) name the same line and awaited expression for the same
/// await or spawn site, and no line where the ways control reaches a site disagree. The runtime-async and spawn
/// paths once walked straight back to the nearest sequence point in layout: the cases below are those where that
/// walk named a wrong line.
/// </summary>
public class SiteLocationTests
{
    private static readonly string s_runtimeAsyncPath = Path.Combine(AppContext.BaseDirectory, "AssemblyToProcessRuntimeAsync.dll");

    private static readonly Lazy<TestResult> s_runtimeAsync = new(() => new ModuleWeaver().ExecuteTestRun(
        s_runtimeAsyncPath, runPeVerify: false, assemblyName: "AssemblyToProcessRuntimeAsync.Woven", writeSymbols: true));

    [Test]
    public void Runtime_async_awaits_are_located_as_the_state_machine_awaits()
    {
        List<string> stateMachine = Rows(WovenAssemblies.Get(Build.Release), "A", withTarget: false);
        List<string> runtimeAsync = Rows(s_runtimeAsync.Value, "A", withTarget: false);

        Assert.That(runtimeAsync, Has.Count.GreaterThan(50));
        Assert.That(Minus(runtimeAsync, stateMachine), Is.Empty, "every runtime-async await is a state-machine await, at the same line");

        // An await of a woven runtime-async method straight from its call is the callee's to track (not woven).
        Assert.That(Minus(stateMachine, runtimeAsync), Is.EqualTo(new[]
        {
            "AssemblyToProcess.AwaitShapes.ConfigureAwaitChildAsync | AwaitShapes.cs:" + WovenAssemblies.LineOf("AwaitShapes.cs", "await:ConfigureAwaitChild"),
        }));
    }

    [Test]
    public void Runtime_async_awaits_are_described_as_the_state_machine_awaits()
    {
        var stateMachine = WovenAssemblies.Sites(WovenAssemblies.Get(Build.Release)).Where(r => r.Kind == "A")
            .ToLookup(r => r.Method + " | " + r.Location, r => r.Target);
        var different = new List<string>();
        foreach (SiteRowView row in WovenAssemblies.Sites(s_runtimeAsync.Value).Where(r => r.Kind == "A"))
        {
            IEnumerable<string> targets = stateMachine[row.Method + " | " + row.Location];
            // A runtime-async compilation may keep a task on the stack where the state machine kept it in a variable
            // (the variable then has no name): it is described by the call that produced it, which is as true.
            if (!targets.Any(t => t == row.Target || (IsIdentifier(t) && row.Target.EndsWith(")", StringComparison.Ordinal))))
            {
                different.Add($"{row.Method} at {row.Location}: '{row.Target}', state machine: '{string.Join("', '", targets)}'");
            }
        }

        Assert.That(different, Is.Empty);
    }

    [Test]
    public void Spawn_sites_in_runtime_async_methods_are_located_as_in_state_machines()
    {
        List<string> stateMachine = Rows(WovenAssemblies.Get(Build.Release), "S");
        List<string> runtimeAsync = Rows(s_runtimeAsync.Value, "S");

        Assert.That(runtimeAsync, Has.Count.GreaterThan(20));
        Assert.That(runtimeAsync, Is.EquivalentTo(stateMachine));
    }

    [Test]
    public void The_implicit_DisposeAsync_of_a_using_declaration_is_at_the_declaration_under_runtime_async()
    {
        int declaration = WovenAssemblies.LineOf("AwaitShapes.cs", "await:UsingDeclaration");
        SiteRowView row = WovenAssemblies.Sites(s_runtimeAsync.Value).Single(r => r.Method.EndsWith(".UsingDeclarationAsync", StringComparison.Ordinal));

        Assert.That(row.Location, Is.EqualTo("AwaitShapes.cs:" + declaration));
        Assert.That(row.Target, Is.EqualTo("GatedResource.DisposeAsync()"));
        Assert.That(StraightWalkLine("AwaitShapes", "UsingDeclarationAsync", IsAsyncHelpersCall), Is.EqualTo(declaration + 1),
            "walking straight back reaches the block's last statement");
    }

    [TestCase("SpawnAfterSwitch", "S")]
    [TestCase("AwaitAfterSwitchAsync", "A")]
    public void A_site_after_a_switch_expression_has_no_line_on_every_path(string method, string kind)
    {
        foreach (TestResult result in new[] { WovenAssemblies.Get(Build.Debug), WovenAssemblies.Get(Build.Release), s_runtimeAsync.Value })
        {
            SiteRowView row = WovenAssemblies.Sites(result).Single(r => r.Kind == kind && r.Method == "AssemblyToProcess.SiteLocations." + method);
            Assert.That(row.Line, Is.Zero, $"{result.AssemblyPath}: the two arms are two lines, neither is the site's");
        }

        string marker = kind == "S" ? "site:SpawnAfterSwitchLastArm" : "site:AwaitAfterSwitchLastArm";
        Func<Instruction, bool> site = kind == "S"
            ? i => i.Operand is MethodReference { Name: "Run", DeclaringType.Name: "Task" }
            : IsAsyncHelpersCall;
        Assert.That(StraightWalkLine("SiteLocations", method, site), Is.EqualTo(WovenAssemblies.LineOf("SiteLocations.cs", marker)),
            "walking straight back names the last arm: a wrong line");
    }

    private static bool IsAsyncHelpersCall(Instruction instruction) =>
        instruction.Operand is MethodReference { DeclaringType.FullName: "System.Runtime.CompilerServices.AsyncHelpers" };

    /// <summary>What the runtime-async and spawn paths used to report: the nearest visible sequence point before the site in layout.</summary>
    private static int StraightWalkLine(string type, string method, Func<Instruction, bool> isSite)
    {
        using ModuleDefinition module = ModuleDefinition.ReadModule(s_runtimeAsyncPath, new ReaderParameters { ReadSymbols = true });
        MethodDefinition definition = module.GetType("AssemblyToProcess." + type).Methods.Single(m => m.Name == method);
        Instruction? current = definition.Body.Instructions.Last(isSite);
        for (; current is not null; current = current.Previous)
        {
            if (definition.DebugInformation.GetSequencePoint(current) is { IsHidden: false } point)
            {
                return point.StartLine;
            }
        }

        return 0;
    }

    private static List<string> Rows(TestResult result, string kind, bool withTarget = true) =>
        WovenAssemblies.Sites(result).Where(r => r.Kind == kind).Select(r => withTarget ? $"{r.Method} | {r.Target} | {r.Location}" : $"{r.Method} | {r.Location}").ToList();

    private static bool IsIdentifier(string text) => text.Length > 0 && text.All(c => char.IsLetterOrDigit(c) || c == '_');

    /// <summary>Multiset difference.</summary>
    private static List<string> Minus(List<string> left, List<string> right)
    {
        var rest = new List<string>(right);
        return left.Where(item => !rest.Remove(item)).ToList();
    }
}
