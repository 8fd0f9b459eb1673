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
        Assert.That(s_result.Value.Messages.Select(m => m.Text), Has.Some.Match(@"\(3 runtime-async\); 4 skipped \(see warnings\)"),
            "the three synthetic methods' skips and HandWritten.cs's unrecognised state machine");
    }

    [Test]
    public void An_await_of_a_woven_method_straight_from_its_call_is_left_to_the_callee()
    {
        Assert.That(HasFinally("Direct"), Is.False);
        Assert.That(Sites("Direct"), Is.Empty);
    }

    [Test]
    public void A_task_kept_on_the_stack_across_another_await_is_tracked_by_its_awaiter()
    {
        // `var t = Tracked(); await x; await t;` with t on the IL stack: not straight from the call, so this method's
        // own suspension on it is its to track, as a state machine's is.
        Assert.That(HasFinally("TaskAcrossAwait"), Is.True);
        Assert.That(Sites("TaskAcrossAwait"), Is.EqualTo(new[] { "Task", "SyntheticRuntimeAsync.Tracked()" }));
    }

    [Test]
    public void An_await_of_an_await_is_described_by_the_awaited_type_not_the_compilers_call()
    {
        Assert.That(Sites("AwaitOfAwait"), Is.EqualTo(new[] { "Task<Task<int>>", "Task<int>" }));
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

    private static string[] Sites(string method) => WovenAssemblies.Sites(s_result.Value)
        .Where(r => r.Method == "AssemblyToProcess.SyntheticRuntimeAsync." + method).Select(r => r.Target).ToArray();

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
            MethodDefinition tracked = type.Methods.Single(m => m.Name == "Tracked");
            type.Methods.Add(AwaitOfAwait(module, helpers, runtime));
            type.Methods.Add(Calls(module, "TaskAcrossAwait", task, il =>
            {
                il.Emit(OpCodes.Call, tracked);
                il.Emit(OpCodes.Ldnull);
                il.Emit(OpCodes.Call, Await(helpers, task, module));
                il.Emit(OpCodes.Call, Await(helpers, task, module));
            }));
            type.Methods.Add(Calls(module, "Direct", task, il =>
            {
                il.Emit(OpCodes.Call, tracked);
                il.Emit(OpCodes.Call, Await(helpers, task, module));
            }));
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

    /// <summary>A runtime-async <c>static Task</c> method whose body is <paramref name="emit"/> then <c>ret</c>.</summary>
    private static MethodDefinition Calls(ModuleDefinition module, string name, TypeReference task, Action<ILProcessor> emit)
    {
        var method = new MethodDefinition(name, MethodAttributes.Public | MethodAttributes.Static, task)
        {
            ImplAttributes = (MethodImplAttributes)0x2000,
        };
        ILProcessor il = method.Body.GetILProcessor();
        emit(il);
        il.Emit(OpCodes.Ret);
        return method;
    }

    /// <summary><c>_ = await await (Task&lt;Task&lt;int&gt;&gt;)null;</c> as runtime-async IL: <c>AsyncHelpers.Await&lt;int&gt;(AsyncHelpers.Await&lt;Task&lt;int&gt;&gt;(null))</c>.</summary>
    private static MethodDefinition AwaitOfAwait(ModuleDefinition module, TypeReference helpers, AssemblyNameReference runtime)
    {
        var taskOfT = new TypeReference("System.Threading.Tasks", "Task`1", module, runtime);
        taskOfT.GenericParameters.Add(new GenericParameter("TResult", taskOfT));
        var taskOfInt = new GenericInstanceType(taskOfT);
        taskOfInt.GenericArguments.Add(module.TypeSystem.Int32);

        MethodReference AwaitOf(TypeReference argument)
        {
            var await = new MethodReference("Await", module.TypeSystem.Void, helpers);
            var t = new GenericParameter("T", await);
            await.GenericParameters.Add(t);
            await.ReturnType = t;
            var parameter = new GenericInstanceType(taskOfT);
            parameter.GenericArguments.Add(t);
            await.Parameters.Add(new ParameterDefinition(parameter));
            var instance = new GenericInstanceMethod(await);
            instance.GenericArguments.Add(argument);
            return instance;
        }

        return Calls(module, "AwaitOfAwait", new TypeReference("System.Threading.Tasks", "Task", module, runtime), il =>
        {
            il.Emit(OpCodes.Ldnull);
            il.Emit(OpCodes.Call, AwaitOf(taskOfInt));
            il.Emit(OpCodes.Call, AwaitOf(module.TypeSystem.Int32));
            il.Emit(OpCodes.Pop);
        });
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
