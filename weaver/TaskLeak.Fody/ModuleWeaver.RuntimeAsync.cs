using System.Collections.Generic;
using System.Linq;
using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;

namespace TaskLeak.Fody;

/// <summary>A method the runtime itself suspends (<c>MethodImplAttributes.Async</c>): no state machine, awaits are AsyncHelpers calls.</summary>
internal sealed class RuntimeAsyncMethod
{
    public RuntimeAsyncMethod(MethodDefinition method, List<RuntimeAwait> awaits)
    {
        Method = method;
        Awaits = awaits;
    }

    public MethodDefinition Method { get; }

    public List<RuntimeAwait> Awaits { get; }
}

/// <summary>One <c>AsyncHelpers.Await(…)</c> / <c>AwaitAwaiter</c> / <c>UnsafeAwaitAwaiter</c> call.</summary>
internal sealed class RuntimeAwait
{
    public RuntimeAwait(Instruction call, bool isAwaiter, MethodDefinition? directCallee, SiteRow row)
    {
        Call = call;
        IsAwaiter = isAwaiter;
        DirectCallee = directCallee;
        Row = row;
    }

    public Instruction Call { get; }

    /// <summary><c>AwaitAwaiter</c>/<c>UnsafeAwaitAwaiter</c>: the compiler already checked IsCompleted, so reaching the call means suspending.</summary>
    public bool IsAwaiter { get; }

    /// <summary>A runtime-async method of this module whose result is awaited straight from the call (<c>await M()</c>).</summary>
    public MethodDefinition? DirectCallee { get; }

    public SiteRow Row { get; }
}

public partial class ModuleWeaver
{
    private const MethodImplAttributes RuntimeAsyncFlag = (MethodImplAttributes)0x2000;
    internal const string AsyncHelpersTypeName = "System.Runtime.CompilerServices.AsyncHelpers";

    private static readonly HashSet<string> s_awaitableTypes = new()
    {
        "System.Threading.Tasks.Task", "System.Threading.Tasks.Task`1",
        "System.Threading.Tasks.ValueTask", "System.Threading.Tasks.ValueTask`1",
        "System.Runtime.CompilerServices.ConfiguredTaskAwaitable", "System.Runtime.CompilerServices.ConfiguredTaskAwaitable`1",
        "System.Runtime.CompilerServices.ConfiguredValueTaskAwaitable", "System.Runtime.CompilerServices.ConfiguredValueTaskAwaitable`1",
    };

    internal static bool IsRuntimeAsync(MethodDefinition method) => (method.ImplAttributes & RuntimeAsyncFlag) != 0;

    /// <summary>
    /// Weaves every runtime-async method: the operation and its proof token live in two new locals, each await that
    /// is about to suspend registers (first time) or re-sites the operation, and a finally around the whole body
    /// releases it on every exit. Awaits of another woven runtime-async method of this module, straight from the call
    /// (<c>await M()</c>), are left as they are: the callee tracks the suspension itself, and the JIT keeps turning
    /// <c>call M; call AsyncHelpers.Await</c> into a direct async call instead of allocating M's Task.
    /// </summary>
    private void WeaveRuntimeAsyncMethods(ModuleScan scan, SiteTable sites, WeaveSummary summary)
    {
        var analysed = new List<RuntimeAsyncMethod>();
        var covered = new HashSet<MethodDefinition>();
        foreach (MethodDefinition method in scan.RuntimeAsync)
        {
            if (Analyse(method, method, summary, () => AnalyseRuntimeAsync(method, summary)) is { } analysis)
            {
                covered.Add(method);
                analysed.Add(analysis);
            }
        }

        RuntimeAsyncHooks? hooks = null;
        foreach (RuntimeAsyncMethod method in analysed)
        {
            List<RuntimeAwait> tracked = method.Awaits.Where(a => a.DirectCallee is null || !covered.Contains(a.DirectCallee)).ToList();
            if (tracked.Count == 0)
            {
                continue;
            }

            hooks ??= RuntimeAsyncHooks.Find(this);
            if (hooks is null)
            {
                WarnSkipped(Codes.RuntimeAsyncHooksMissing, CSharpNames.Method(method.Method, out _) + " (runtime-async)", method.Method, null,
                    "the referenced TaskLeak runtime has no runtime-async hooks (reference its net8.0 or later build)", summary);
                continue;
            }

            Rewrite(method.Method, method.Method, () => WeaveRuntimeAsync(method.Method, tracked, hooks, sites));
            summary.AsyncMethods++;
            summary.RuntimeAsyncMethods++;
            summary.AwaitSites += tracked.Count;
        }
    }

    /// <summary>Finds the method's awaits; null (with a warning) when its IL holds something the weaver does not understand.</summary>
    private RuntimeAsyncMethod? AnalyseRuntimeAsync(MethodDefinition method, WeaveSummary summary)
    {
        if (!HasRuntimeAsyncReturnType(method))
        {
            return SkipRuntimeAsync(method, summary, $"its return type {CSharpNames.Type(method.ReturnType)} is not Task, Task<T>, ValueTask or ValueTask<T>");
        }

        var describer = new SiteDescriber(method, method, "async " + CSharpNames.Type(method.ReturnType) + " (runtime-async)");
        var awaits = new List<RuntimeAwait>();
        foreach (Instruction instruction in method.Body.Instructions)
        {
            if (instruction.OpCode.Code is not (Code.Call or Code.Callvirt) || instruction.Operand is not MethodReference callee ||
                callee.DeclaringType.FullName != AsyncHelpersTypeName)
            {
                continue;
            }

            bool isAwaiter = callee.Name is "AwaitAwaiter" or "UnsafeAwaitAwaiter";
            if (!isAwaiter && callee.Name != "Await")
            {
                continue;
            }

            if (callee.Parameters.Count != 1 || (!isAwaiter && !s_awaitableTypes.Contains(callee.Parameters[0].ParameterType.GetElementType().FullName)))
            {
                return SkipRuntimeAsync(method, summary, $"the await at IL_{instruction.Offset:x4} calls AsyncHelpers.{callee.Name}({string.Join(", ", callee.Parameters.Select(p => CSharpNames.Type(p.ParameterType)))}), which the weaver does not know");
            }

            // The compiler's `awaitable.GetAwaiter(); … IsCompleted …; AsyncHelpers.UnsafeAwaitAwaiter(awaiter)`, or `AsyncHelpers.Await(task)`.
            AwaitDescription description = isAwaiter
                ? describer.Await(instruction, awaiterArgument: 0, callee is GenericInstanceMethod generic ? CSharpNames.Type(generic.GenericArguments[0]) : null)
                : describer.Await(instruction, awaiterArgument: -1, CSharpNames.Type(Instantiate(callee.Parameters[0].ParameterType, callee)));
            awaits.Add(new RuntimeAwait(instruction, isAwaiter, isAwaiter ? null : DirectRuntimeAsyncCallee(describer, instruction), description.Row));
        }

        return new RuntimeAsyncMethod(method, awaits);
    }

    private RuntimeAsyncMethod? SkipRuntimeAsync(MethodDefinition method, WeaveSummary summary, string reason)
    {
        WarnSkipped(Codes.RuntimeAsyncSkipped, CSharpNames.Method(method, out _) + " (runtime-async)", method, null, reason, summary);
        return null;
    }

    /// <summary>The runtime-async method of this module whose task is awaited straight from its call, if any (through ConfigureAwait too).</summary>
    private MethodDefinition? DirectRuntimeAsyncCallee(SiteDescriber describer, Instruction awaitCall)
    {
        Instruction? producer = describer.ValueProducer(awaitCall, 0);
        if (producer?.Operand is MethodReference { Name: "ConfigureAwait", HasThis: true } configure && configure.Parameters.Count == 1)
        {
            producer = describer.ValueProducer(producer, 0);
        }

        if (producer?.OpCode.Code is not (Code.Call or Code.Callvirt) || producer.Operand is not MethodReference called)
        {
            return null;
        }

        // Straight from the call: runtime-async code may keep the task on the stack across other awaits
        // (`var t = M(); await x; await t;` in an optimized build), and then the caller's own suspension is its to track.
        if (!describer.Stack.IsStraight(producer, awaitCall) || HasAwaitBetween(producer, awaitCall))
        {
            return null;
        }

        MethodDefinition? definition;
        try
        {
            definition = called.Resolve();
        }
        catch (AssemblyResolutionException)
        {
            return null;
        }

        if (definition is null || definition.Module != ModuleDefinition || !IsRuntimeAsync(definition))
        {
            return null;
        }

        // A virtual call may land in an override the weaver never saw.
        return producer.OpCode.Code == Code.Call || !definition.IsVirtual || definition.IsFinal ? definition : null;
    }

    private static bool HasAwaitBetween(Instruction from, Instruction to)
    {
        for (Instruction? current = from.Next; current is not null && current != to; current = current.Next)
        {
            if (current.Operand is MethodReference { DeclaringType.FullName: AsyncHelpersTypeName })
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasRuntimeAsyncReturnType(MethodDefinition method) =>
        method.ReturnType.GetElementType().FullName is "System.Threading.Tasks.Task" or "System.Threading.Tasks.ValueTask"
            or "System.Threading.Tasks.Task`1" or "System.Threading.Tasks.ValueTask`1";

    /// <summary>What the body's <c>ret</c> carries: T for Task&lt;T&gt;/ValueTask&lt;T&gt;, nothing (null) for Task/ValueTask.</summary>
    private static TypeReference? UnwrappedReturnType(MethodDefinition method) =>
        method.ReturnType is GenericInstanceType { GenericArguments.Count: 1 } generic ? generic.GenericArguments[0] : null;

    private void WeaveRuntimeAsync(MethodDefinition method, List<RuntimeAwait> awaits, RuntimeAsyncHooks hooks, SiteTable sites)
    {
        MethodBody body = method.Body;
        body.SimplifyMacros();
        var operation = new VariableDefinition(ModuleDefinition.TypeSystem.Int32);
        var token = new VariableDefinition(ModuleDefinition.TypeSystem.Object);
        body.Variables.Add(operation);
        body.Variables.Add(token);

        foreach (RuntimeAwait site in awaits)
        {
            // Stack-neutral before the AsyncHelpers call: BeforeAwait(copy of the value, ref op, ref token, site) and
            // SuspendWithToken(ref op, ref token, site, null) leave the awaited value or awaiter where it was.
            var code = new List<Instruction>();
            if (!site.IsAwaiter)
            {
                code.Add(Instruction.Create(OpCodes.Dup));
            }

            code.Add(Instruction.Create(OpCodes.Ldloca, operation));
            code.Add(Instruction.Create(OpCodes.Ldloca, token));
            code.AddRange(sites.Add(site.Row));
            if (site.IsAwaiter)
            {
                code.Add(Instruction.Create(OpCodes.Ldnull));
                code.Add(Instruction.Create(OpCodes.Call, hooks.SuspendWithToken));
            }
            else
            {
                code.Add(Instruction.Create(OpCodes.Call, hooks.BeforeAwait((MethodReference)site.Call.Operand)));
            }

            IlEditing.InsertBefore(body, site.Call, code);
        }

        WrapInCompletionFinally(method, operation, token, hooks);
        body.OptimizeMacros();
    }

    /// <summary>
    /// <c>try { body } finally { CompleteRuntimeAsync(ref op, ref token); }</c>, every <c>ret</c> becoming a
    /// <c>leave</c> to one epilogue. The finally reads the token, which keeps it live (and saved in every
    /// continuation) across all awaits; a suspended method that is never resumed never runs it.
    /// </summary>
    private void WrapInCompletionFinally(MethodDefinition method, VariableDefinition operation, VariableDefinition token, RuntimeAsyncHooks hooks)
    {
        MethodBody body = method.Body;
        ILProcessor il = body.GetILProcessor();
        TypeReference? resultType = UnwrappedReturnType(method);
        VariableDefinition? result = null;
        if (resultType is not null)
        {
            result = new VariableDefinition(resultType);
            body.Variables.Add(result);
        }

        Instruction tryStart = body.Instructions[0];
        Instruction epilogue = result is not null ? Instruction.Create(OpCodes.Ldloc, result) : Instruction.Create(OpCodes.Ret);
        foreach (Instruction ret in body.Instructions.Where(i => i.OpCode.Code == Code.Ret).ToList())
        {
            if (result is not null)
            {
                IlEditing.InsertBefore(body, ret, new[] { Instruction.Create(OpCodes.Stloc, result) });
            }

            ret.OpCode = OpCodes.Leave;
            ret.Operand = epilogue;
        }

        Instruction handlerStart = Instruction.Create(OpCodes.Ldloca, operation);
        foreach (ExceptionHandler existing in body.ExceptionHandlers)
        {
            existing.TryEnd ??= handlerStart;
            existing.HandlerEnd ??= handlerStart;
        }

        il.Append(handlerStart);
        il.Emit(OpCodes.Ldloca, token);
        il.Emit(OpCodes.Call, hooks.Complete);
        il.Emit(OpCodes.Endfinally);
        il.Append(epilogue);
        if (result is not null)
        {
            il.Emit(OpCodes.Ret);
        }

        body.ExceptionHandlers.Add(new ExceptionHandler(ExceptionHandlerType.Finally)
        {
            TryStart = tryStart,
            TryEnd = handlerStart,
            HandlerStart = handlerStart,
            HandlerEnd = epilogue,
        });

        if (!body.InitLocals)
        {
            // Before the try and not a branch target: runs once per call, never on a loop back to the first instruction.
            il.InsertBefore(tryStart, Instruction.Create(OpCodes.Ldc_I4_0));
            il.InsertBefore(tryStart, Instruction.Create(OpCodes.Stloc, operation));
            il.InsertBefore(tryStart, Instruction.Create(OpCodes.Ldnull));
            il.InsertBefore(tryStart, Instruction.Create(OpCodes.Stloc, token));
        }
    }

    /// <summary><c>Task&lt;!!0&gt;</c> of a generic AsyncHelpers.Await, with its type argument filled in.</summary>
    private static TypeReference Instantiate(TypeReference parameterType, MethodReference callee)
    {
        if (callee is not GenericInstanceMethod generic || parameterType is not GenericInstanceType open)
        {
            return parameterType;
        }

        var closed = new GenericInstanceType(open.ElementType);
        foreach (TypeReference argument in open.GenericArguments)
        {
            closed.GenericArguments.Add(argument is GenericParameter { Type: GenericParameterType.Method } p ? generic.GenericArguments[p.Position] : argument);
        }

        return closed;
    }
}

/// <summary>The runtime-async hooks (the runtime's net8.0 build, not netstandard2.0), imported on first use.</summary>
internal sealed class RuntimeAsyncHooks
{
    private readonly Dictionary<string, MethodReference> _beforeAwait;

    private RuntimeAsyncHooks(Dictionary<string, MethodReference> beforeAwait, MethodReference suspend, MethodReference complete)
    {
        _beforeAwait = beforeAwait;
        SuspendWithToken = suspend;
        Complete = complete;
    }

    internal MethodReference SuspendWithToken { get; }

    internal MethodReference Complete { get; }

    internal static RuntimeAsyncHooks? Find(ModuleWeaver weaver)
    {
        if (!weaver.TryFindTypeDefinition(HookReferences.HooksTypeName, out TypeDefinition? hooks) || hooks is null)
        {
            return null;
        }

        var beforeAwait = new Dictionary<string, MethodReference>();
        foreach (MethodDefinition method in hooks.Methods.Where(m => m.Name == "BeforeAwait" && m.Parameters.Count == 4))
        {
            beforeAwait[method.Parameters[0].ParameterType.GetElementType().FullName] = weaver.ModuleDefinition.ImportReference(method);
        }

        MethodDefinition? suspend = hooks.Methods.FirstOrDefault(m => m.Name == "SuspendWithToken");
        MethodDefinition? complete = hooks.Methods.FirstOrDefault(m => m.Name == "CompleteRuntimeAsync");
        if (beforeAwait.Count == 0 || suspend is null || complete is null)
        {
            return null;
        }

        return new RuntimeAsyncHooks(beforeAwait, weaver.ModuleDefinition.ImportReference(suspend), weaver.ModuleDefinition.ImportReference(complete));
    }

    /// <summary>The BeforeAwait overload matching an <c>AsyncHelpers.Await</c> call, instantiated like it.</summary>
    internal MethodReference BeforeAwait(MethodReference awaitCall)
    {
        string awaited = awaitCall.Parameters[0].ParameterType.GetElementType().FullName;
        if (!_beforeAwait.TryGetValue(awaited, out MethodReference? hook) || hook is null)
        {
            throw new global::Fody.WeavingException($"TaskLeak: the referenced TaskLeak runtime has no BeforeAwait hook for {awaited}; the TaskLeak.dll and TaskLeak.Fody.dll versions do not match.");
        }

        if (awaitCall is not GenericInstanceMethod generic)
        {
            return hook;
        }

        var instance = new GenericInstanceMethod(hook);
        instance.GenericArguments.Add(generic.GenericArguments[0]);
        return instance;
    }
}
