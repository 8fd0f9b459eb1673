using System;
using System.IO;
using System.Linq;
using Fody;
using Mono.Cecil;
using Mono.Cecil.Cil;
using NUnit.Framework;
using TaskLeak.Fody;

namespace TaskLeak.Fody.Tests;

/// <summary>
/// What the weaver does with runtime-async (and spawn-site) IL it does not understand. The methods are written with Cecil into a copy
/// of AssemblyToProcess (they are never run: the executed paths live in smoke-tests/TaskLeak.SmokeTests.RuntimeAsync,
/// compiled with runtime-async on).
/// </summary>
public class RuntimeAsyncWeaveTests
{
    private static readonly Lazy<TestResult> s_result = new(Weave);

    [Test]
    public void An_unknown_AsyncHelpers_await_skips_the_method_with_a_warning()
    {
        Assert.That(s_result.Value.Warnings.Select(w => w.Text), Has.One.Contains("SyntheticRuntimeAsync.UnknownAwait (runtime-async) was not woven")
            .And.Contains("AsyncHelpers.Await(object)"));
        Assert.That(HasFinally("UnknownAwait"), Is.False, "left untouched");
    }

    [Test]
    public void A_runtime_async_method_that_does_not_return_a_task_is_skipped_with_a_warning()
    {
        Assert.That(s_result.Value.Warnings.Select(w => w.Text), Has.One.Contains("SyntheticRuntimeAsync.NotATask (runtime-async) was not woven")
            .And.Contains("return type int"));
        Assert.That(HasFinally("NotATask"), Is.False);
    }

    [Test]
    public void A_runtime_async_method_is_woven_and_counted()
    {
        Assert.That(HasFinally("Tracked"), Is.True);
        Assert.That(s_result.Value.Messages.Select(m => m.Text), Has.Some.Match(@"\(1 runtime-async\); 4 skipped \(see warnings\)"),
            "the three synthetic methods' skips and HandWritten.cs's unrecognised state machine");
    }

    [Test]
    public void A_spawn_call_behind_an_IL_prefix_is_left_alone_with_a_warning()
    {
        Assert.That(s_result.Value.Warnings.Select(w => w.Text), Has.One.Contains("SyntheticRuntimeAsync.TailSpawn carries an IL prefix (tail.)"));
        using ModuleDefinition module = ModuleDefinition.ReadModule(s_result.Value.AssemblyPath);
        Instruction call = module.GetType("AssemblyToProcess.SyntheticRuntimeAsync").Methods.Single(m => m.Name == "TailSpawn").Body.Instructions
            .Single(i => i.OpCode.Code == Code.Call);
        Assert.That(((MethodReference)call.Operand).DeclaringType.FullName, Is.EqualTo("System.Threading.Tasks.Task"));
    }

    private static bool HasFinally(string method)
    {
        using ModuleDefinition module = ModuleDefinition.ReadModule(s_result.Value.AssemblyPath);
        MethodDefinition definition = module.GetType("AssemblyToProcess.SyntheticRuntimeAsync").Methods.Single(m => m.Name == method);
        return definition.Body.ExceptionHandlers.Any(h => h.HandlerType == ExceptionHandlerType.Finally);
    }

    private static TestResult Weave()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "AssemblyToProcess.dll");
        string path = Path.Combine(AppContext.BaseDirectory, "AssemblyToProcess.SyntheticRuntimeAsyncInput.dll");
        using (ModuleDefinition module = ModuleDefinition.ReadModule(source, new ReaderParameters { ReadSymbols = false }))
        {
            AssemblyNameReference runtime = module.AssemblyReferences.Single(r => r.Name == "System.Runtime");
            var task = new TypeReference("System.Threading.Tasks", "Task", module, runtime);
            var helpers = new TypeReference("System.Runtime.CompilerServices", "AsyncHelpers", module, runtime);
            var type = new TypeDefinition("AssemblyToProcess", "SyntheticRuntimeAsync",
                TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed, module.TypeSystem.Object);
            module.Types.Add(type);
            type.Methods.Add(RuntimeAsync(module, "UnknownAwait", task, Await(helpers, module.TypeSystem.Object, module), returnsValue: false));
            type.Methods.Add(RuntimeAsync(module, "NotATask", module.TypeSystem.Int32, Await(helpers, task, module), returnsValue: true));
            type.Methods.Add(RuntimeAsync(module, "Tracked", task, Await(helpers, task, module), returnsValue: false));
            type.Methods.Add(TailSpawn(module, task, runtime));
            module.Write(path);
        }

        return new ModuleWeaver().ExecuteTestRun(path, runPeVerify: false, assemblyName: "AssemblyToProcess.SyntheticRuntimeAsync");
    }

    private static MethodReference Await(TypeReference helpers, TypeReference parameter, ModuleDefinition module)
    {
        var await = new MethodReference("Await", module.TypeSystem.Void, helpers);
        await.Parameters.Add(new ParameterDefinition(parameter));
        return await;
    }

    /// <summary><c>return tail. Task.Run((Action)null);</c>: nothing can be inserted between a prefix and its call.</summary>
    private static MethodDefinition TailSpawn(ModuleDefinition module, TypeReference task, AssemblyNameReference runtime)
    {
        var run = new MethodReference("Run", task, task);
        run.Parameters.Add(new ParameterDefinition(new TypeReference("System", "Action", module, runtime)));
        var method = new MethodDefinition("TailSpawn", MethodAttributes.Public | MethodAttributes.Static, task);
        ILProcessor il = method.Body.GetILProcessor();
        il.Emit(OpCodes.Ldnull);
        il.Emit(OpCodes.Tail);
        il.Emit(OpCodes.Call, run);
        il.Emit(OpCodes.Ret);
        return method;
    }

    /// <summary><c>AsyncHelpers.Await(null); return [0];</c> flagged MethodImplAttributes.Async.</summary>
    private static MethodDefinition RuntimeAsync(ModuleDefinition module, string name, TypeReference returnType, MethodReference await, bool returnsValue)
    {
        var method = new MethodDefinition(name, MethodAttributes.Public | MethodAttributes.Static, returnType)
        {
            ImplAttributes = (MethodImplAttributes)0x2000,
        };
        ILProcessor il = method.Body.GetILProcessor();
        il.Emit(OpCodes.Ldnull);
        il.Emit(OpCodes.Call, await);
        if (returnsValue)
        {
            il.Emit(OpCodes.Ldc_I4_0);
        }

        il.Emit(OpCodes.Ret);
        return method;
    }
}
