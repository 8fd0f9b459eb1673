using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;

namespace TaskLeak.Fody.Tests;

/// <summary>
/// A woven shape: how to start it on a gate (as a <c>Task&lt;int&gt;</c> that completes with 42 when the gate opens
/// with 41), and what its leak report must say when the gate is dropped.
/// </summary>
public sealed record ShapeCase
{
    private readonly Func<Build, Gate, Task<int>> _start;

    public ShapeCase(string name, string file, string marker, string method, string waitTarget, Func<Build, Gate, Task<int>> start)
    {
        Name = name;
        File = file;
        Marker = marker;
        Method = method;
        WaitTarget = waitTarget;
        _start = start;
    }

    public string Name { get; }
    public string File { get; }

    /// <summary>The <c>await:Name</c> comment on the line a dropped gate leaves the frame suspended at.</summary>
    public string Marker { get; }

    public string Method { get; }
    public string WaitTarget { get; init; }
    public string Detail { get; init; } = "";

    /// <summary>False when the shape suspends even on an opened gate (Task.Yield).</summary>
    public bool CompletesSynchronously { get; init; } = true;

    public Task<int> Start(Build build, Gate gate) => _start(build, gate);

    public override string ToString() => Name;
}

/// <summary>Every async-method shape and await shape the weaver handles.</summary>
public static class ShapeCatalog
{
    private const string Methods = "AssemblyToProcess.MethodShapes.";
    private const string Awaits = "AssemblyToProcess.AwaitShapes.";
    private const string OnGate = "gate (Task<int>)";

    public static IEnumerable<ShapeCase> MethodShapes()
    {
        yield return Method("async Task", "TaskAsync", "await:Task", b => g => Completion((Task)Call(b, "MethodShapes", "TaskAsync", g.Task)));
        yield return Method("async Task<T>", "TaskOfTAsync", "await:TaskOfT", b => g => (Task<int>)Call(b, "MethodShapes", "TaskOfTAsync", g.Task));
        yield return Method("async ValueTask", "ValueTaskAsync", "await:ValueTask", b => g => Completion(((ValueTask)Call(b, "MethodShapes", "ValueTaskAsync", g.Task)).AsTask()));
        yield return Method("async ValueTask<T>", "ValueTaskOfTAsync", "await:ValueTaskOfT", b => g => ((ValueTask<int>)Call(b, "MethodShapes", "ValueTaskOfTAsync", g.Task)).AsTask());
        yield return Method("pooled ValueTask", "PooledAsync", "await:Pooled", b => g => Completion(((ValueTask)Call(b, "MethodShapes", "PooledAsync", g.Task)).AsTask()));
        yield return Method("pooled ValueTask<T>", "PooledOfTAsync", "await:PooledOfT", b => g => ((ValueTask<int>)Call(b, "MethodShapes", "PooledOfTAsync", g.Task)).AsTask());
        yield return Method("async void", "VoidAsync", "await:Void", b => g =>
        {
            // The body signals before the builder completes: the test must not resume inside it.
            var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            Call(b, "MethodShapes", "VoidAsync", g.Task, done);
            return done.Task;
        });
        yield return Method("custom task-like", "CustomAsync", "await:Custom", b => g =>
        {
            object custom = Call(b, "MethodShapes", "CustomAsync", g.Task);
            return (Task<int>)custom.GetType().GetMethod("AsTask")!.Invoke(custom, null)!;
        });
        yield return Method("generic method over int", "GenericMethodAsync<T>", "await:GenericMethod",
            b => g => (Task<int>)Call(b, "MethodShapes", "GenericMethodOverIntAsync", g.Task));
        yield return Method("generic method over string", "GenericMethodAsync<T>", "await:GenericMethod",
            b => g => Parse((Task<string>)Call(b, "MethodShapes", "GenericMethodOverStringAsync", g.Task)));
        yield return new ShapeCase("generic type", "MethodShapes.cs", "await:GenericType", "AssemblyToProcess.Outer<T>.InstanceAsync", OnGate,
            (b, g) => (Task<int>)Call(b, "MethodShapes", "GenericTypeAsync", g.Task));
        yield return new ShapeCase("nested generic type", "MethodShapes.cs", "await:NestedGeneric", "AssemblyToProcess.Outer<T>.Inner<U>.EchoAsync", OnGate,
            (b, g) => (Task<int>)Call(b, "MethodShapes", "NestedGenericAsync", g.Task));
        yield return new ShapeCase("nested generic type, ValueTask<T>", "MethodShapes.cs", "await:NestedGenericValue",
            "AssemblyToProcess.Outer<T>.Inner<U>.EchoValueAsync", OnGate,
            (b, g) => ((ValueTask<int>)Call(b, "MethodShapes", "NestedGenericValueAsync", g.Task)).AsTask());

        yield return Lambda("capturing lambda", "await:CapturingLambda", "lambda");
        // These take the gate as their own parameter, g.
        yield return Lambda("static lambda", "await:StaticLambda", "lambda", "g (Task<int>)");
        yield return Lambda("anonymous method", "await:AnonymousMethod", "lambda", "g (Task<int>)");
        yield return Lambda("local function", "await:LocalFunction", "local function Local");
        yield return Lambda("static local function", "await:StaticLocalFunction", "local function StaticLocal", "g (Task<int>)");
    }

    public static IEnumerable<ShapeCase> AwaitShapes()
    {
        yield return Await("await in try/finally", "InTryFinallyAsync", "await:TryFinally", OnGate);
        yield return Await("await in try/catch", "InTryCatchAsync", "await:TryCatch", OnGate);
        yield return Await("await in catch", "InCatchAsync", "await:Catch", OnGate);
        yield return Await("await in finally", "InFinallyAsync", "await:Finally", OnGate);
        yield return Await("await in using", "InUsingAsync", "await:Using", OnGate);
        yield return Await("await in a loop", "InLoopAsync", "await:Loop", OnGate);
        yield return Await("await in switch", "InSwitchAsync", "await:Switch", OnGate);
        yield return Await("await in a switch expression", "InSwitchExpressionAsync", "await:SwitchExpression", OnGate);
        // After a join the IL no longer says which operand was awaited: the awaitable's type, never a guess.
        yield return Await("await of ?:", "ConditionalAsync", "await:Conditional", "Task<int> (Task<int>)");
        yield return Await("await of ??", "CoalesceAsync", "await:Coalesce", "Task<int> (Task<int>)");
        // The Task behind the ConfiguredTaskAwaitable is captured: its runtime type is known.
        yield return Await("ConfigureAwait(false)", "ConfigureAwaitAsync", "await:ConfigureAwait", "gate.ConfigureAwait(false) (Task<int>)");
        yield return Await("Task.Yield() then the gate", "YieldAsync", "await:AfterYield", OnGate) with { CompletesSynchronously = false };
        yield return Await("Task.WhenAll", "WhenAllAsync", "await:WhenAll", "Task.WhenAll(\u2026) (Task.WhenAllPromise<int>)");
        yield return Await("Task.WhenAny", "WhenAnyAsync", "await:WhenAny", "Task.WhenAny(\u2026) (Task.TwoTaskWhenAnyPromise<Task<int>>)");
        yield return new ShapeCase("WaitAsync(CancellationToken)", "AwaitShapes.cs", "await:WaitAsync", Awaits + "WaitAsyncAsync",
            "Task<int>.WaitAsync(\u2026) (Task.CancellationPromise<int>)",
            (b, g) => (Task<int>)Call(b, "AwaitShapes", "WaitAsyncAsync", g.Task, g.Token));
        // A ValueTask over the channel's pooled IValueTaskSource: a struct, so only the expression is known.
        yield return new ShapeCase("Channel ReadAsync (IValueTaskSource)", "AwaitShapes.cs", "await:Channel", Awaits + "ChannelAsync",
            "Channel<int>.Reader.ReadAsync(\u2026)",
            (b, g) => (Task<int>)Call(b, "AwaitShapes", "ChannelAsync", g.Channel, g.Token));
        yield return Await("custom struct awaitable (INotifyCompletion)", "CustomAwaitableAsync", "await:CustomAwaitable", "new GateAwaitable(\u2026)");
        yield return Await("GetAwaiter extension method", "ExtensionAwaitableAsync", "await:ExtensionAwaitable", "box (GateBox)");
    }

    public static IEnumerable<ShapeCase> All()
    {
        foreach (ShapeCase shape in MethodShapes())
        {
            yield return shape;
        }

        foreach (ShapeCase shape in AwaitShapes())
        {
            yield return shape;
        }
    }

    private static ShapeCase Method(string name, string method, string marker, Func<Build, Func<Gate, Task<int>>> start) =>
        new(name, "MethodShapes.cs", marker, Methods + method, OnGate, (b, g) => start(b)(g));

    private static ShapeCase Await(string name, string method, string marker, string waitTarget) =>
        new(name, "AwaitShapes.cs", marker, Awaits + method, waitTarget, (b, g) => (Task<int>)Call(b, "AwaitShapes", method, g.Task));

    private static ShapeCase Lambda(string kind, string marker, string detail, string waitTarget = OnGate) =>
        new(kind, "Shapes.cs", marker, "AssemblyToProcess.Shapes.Run", waitTarget, (b, g) => (Task<int>)Call(b, "Shapes", "Run", kind, g.Task))
        {
            Detail = detail,
        };

    private static object Call(Build build, string type, string method, params object?[] arguments) =>
        WovenAssemblies.Call(build, type, method, arguments)!;

    /// <summary>42 once a result-less shape completes; its fault or cancellation as is.</summary>
    private static async Task<int> Completion(Task task)
    {
        await task;
        return 42;
    }

    private static async Task<int> Parse(Task<string> task) => int.Parse(await task, CultureInfo.InvariantCulture);
}
