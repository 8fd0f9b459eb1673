using System.Collections.Generic;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

/// <summary>An await in a MoveNext: the builder call that suspends, and what a report will say about it.</summary>
internal sealed class AwaitSite
{
    public AwaitSite(Instruction awaitCall, Instruction builderLoad, SiteRow row, Instruction? capture, bool captureAfter)
    {
        AwaitCall = awaitCall;
        BuilderLoad = builderLoad;
        Row = row;
        Capture = capture;
        CaptureAfter = captureAfter;
    }

    /// <summary><c>builder.AwaitUnsafeOnCompleted(ref awaiter, ref this)</c> (or AwaitOnCompleted).</summary>
    public Instruction AwaitCall { get; }

    /// <summary>The <c>ldflda</c> (or <c>ldfld</c>, for a class builder) of <c>&lt;&gt;t__builder</c> for the await call.</summary>
    public Instruction BuilderLoad { get; }

    public SiteRow Row { get; }

    /// <summary>
    /// When set, the awaited object is on top of the stack just before this instruction (or, with
    /// <see cref="CaptureAfter"/>, just after it), and control flows straight from there to the await call.
    /// </summary>
    public Instruction? Capture { get; }

    public bool CaptureAfter { get; }
}

public partial class ModuleWeaver
{
    private const int MaxLookBack = 64;
    private const string Ellipsis = "\u2026";

    private AwaitSite DescribeAwait(AsyncMethod method, IlStack stack, Instruction awaitCall, Instruction builderLoad)
    {
        MethodBody body = method.MoveNext.Body;
        Instruction? getAwaiter = FindGetAwaiter(body, stack, awaitCall);
        string? target = null;
        Instruction? capture = null;
        bool captureAfter = false;
        if (getAwaiter is not null)
        {
            Instruction? awaitable = ValueProducer(stack, body, getAwaiter, 0);
            target = DescribeExpression(stack, body, awaitable, 0);
            capture = CapturePoint(stack, getAwaiter, awaitable, out captureAfter);
            if (capture is not null && !stack.IsStraight(capture, awaitCall))
            {
                capture = null;
            }

            target ??= CSharpNames.Type(AwaitableType((MethodReference)getAwaiter.Operand));
        }

        if (target is null && awaitCall.Operand is GenericInstanceMethod generic && generic.GenericArguments.Count > 0)
        {
            target = CSharpNames.Type(generic.GenericArguments[0]);
        }

        // An implicit DisposeAsync sits in hidden code after the block it disposes: walking back from it reaches the
        // block's last statement (one line, so it looks certain); the statement that acquired the object is the answer.
        Instruction? disposed = getAwaiter is null ? null : ValueProducer(stack, body, getAwaiter, 0);
        SequencePoint? point = (IsInHiddenCode(method.MoveNext, disposed) ? DisposalPoint(method.MoveNext, stack, disposed) : null)
            ?? FindSequencePoint(method.MoveNext, stack, getAwaiter ?? awaitCall)
            ?? DisposalPoint(method.MoveNext, stack, disposed);
        var row = new SiteRow
        {
            Kind = 'A',
            Method = method.DisplayName,
            SourcePath = point?.Document.Url,
            Line = point?.StartLine ?? 0,
            IlOffset = awaitCall.Offset,
            Target = target ?? "",
            Detail = method.Detail,
            Shape = method.Shape,
        };
        return new AwaitSite(awaitCall, builderLoad, row, capture, captureAfter);
    }

    /// <summary>
    /// The <c>GetAwaiter()</c> whose result is the awaiter this await call schedules on: it stores into the very local
    /// passed by reference to the builder. Anything else (an awaiter from elsewhere) gets no description from it.
    /// </summary>
    private static Instruction? FindGetAwaiter(MethodBody body, IlStack stack, Instruction awaitCall)
    {
        VariableDefinition? awaiter = stack.FindProducer(awaitCall, 1) is { OpCode.Code: Code.Ldloca or Code.Ldloca_S } load
            ? IlEditing.LocalOf(body, load)
            : null;
        if (awaiter is null)
        {
            return null;
        }

        Instruction? current = awaitCall.Previous;
        for (int i = 0; current is not null && i < MaxLookBack; i++, current = current.Previous)
        {
            if (current.OpCode.Code is Code.Call or Code.Callvirt && current.Operand is MethodReference { Name: "GetAwaiter" })
            {
                return current.Next is { } store && IlEditing.IsStoreTo(body, store, awaiter) ? current : null;
            }

            if (current.OpCode.Code is Code.Call or Code.Callvirt && current.Operand is MethodReference { Name: "AwaitUnsafeOnCompleted" or "AwaitOnCompleted" })
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>
    /// The instruction that produced argument <paramref name="argument"/>, looking through a struct the compiler spilled
    /// to an unnamed temporary to take its address. A named local is the user's variable: it is described by its name.
    /// </summary>
    private static Instruction? ValueProducer(IlStack stack, MethodBody body, Instruction consumer, int argument)
    {
        Instruction? producer = stack.FindProducer(consumer, argument);
        if (producer?.OpCode.Code is not (Code.Ldloca or Code.Ldloca_S))
        {
            return producer;
        }

        VariableDefinition? local = IlEditing.LocalOf(body, producer);
        if (local is null || body.Method.DebugInformation.TryGetName(local, out _))
        {
            return producer;
        }

        Instruction? store = producer.Previous;
        if (store is null || !IlEditing.IsStoreTo(body, store, local) || !stack.IsStraight(store, producer))
        {
            return null;
        }

        return stack.FindProducer(store, 0);
    }

    /// <summary>
    /// The awaited expression as written, as far as the IL lets us recover it: members read through their receiver's
    /// static type (<c>SemaphoreSlim.WaitAsync()</c>, <c>Channel&lt;int&gt;.Reader.ReadAsync(…)</c>), a variable by its name.
    /// Null when the IL does not say (a join, an unusual producer): the caller falls back to the awaitable's type.
    /// </summary>
    private string? DescribeExpression(IlStack stack, MethodBody body, Instruction? producer, int depth)
    {
        if (producer is null || depth > 4)
        {
            return null;
        }

        switch (producer.OpCode.Code)
        {
            case Code.Call:
            case Code.Callvirt:
            {
                var callee = (MethodReference)producer.Operand;
                if (callee.Name == "ConfigureAwait" && callee.HasThis && callee.Parameters.Count == 1)
                {
                    string inner = DescribeExpression(stack, body, ValueProducer(stack, body, producer, 0), depth + 1)
                        ?? CSharpNames.Type(callee.DeclaringType);
                    return inner + ".ConfigureAwait(" + DescribeConstant(stack.FindProducer(producer, 1)) + ")";
                }

                string member = callee.Name.StartsWith("get_", System.StringComparison.Ordinal) && callee.Parameters.Count == 0
                    ? callee.Name.Substring(4)
                    : CalleeName(callee) + (callee.Parameters.Count > 0 ? "(" + Ellipsis + ")" : "()");
                if (CSharpNames.IsCompilerGenerated(callee.DeclaringType) || IsLocalFunction(callee))
                {
                    return member;
                }

                string? owner = callee.HasThis ? DescribeReceiver(stack, body, ValueProducer(stack, body, producer, 0), depth + 1) : null;
                return (owner ?? CSharpNames.Type(callee.DeclaringType)) + "." + member;
            }

            case Code.Newobj:
            {
                var constructor = (MethodReference)producer.Operand;
                return "new " + CSharpNames.Type(constructor.DeclaringType) + (constructor.Parameters.Count > 0 ? "(" + Ellipsis + ")" : "()");
            }

            case Code.Ldfld:
            case Code.Ldflda:
            case Code.Ldsfld:
            case Code.Ldsflda:
            {
                var field = (FieldReference)producer.Operand;
                if (!CSharpNames.IsCompilerGenerated(field.DeclaringType))
                {
                    return CSharpNames.Type(field.DeclaringType) + "." + field.Name;
                }

                // A hoisted local or parameter reads as its name; the compiler's own temporaries (<>7__wrap1) say nothing.
                string name = CSharpNames.HoistedName(field.Name);
                return name.StartsWith("<", System.StringComparison.Ordinal) ? null : name;
            }

            case Code.Ldloc:
            case Code.Ldloc_S:
            case Code.Ldloc_0:
            case Code.Ldloc_1:
            case Code.Ldloc_2:
            case Code.Ldloc_3:
            case Code.Ldloca:
            case Code.Ldloca_S:
            {
                VariableDefinition? local = IlEditing.LocalOf(body, producer);
                return local is not null && body.Method.DebugInformation.TryGetName(local, out string name) ? name : null;
            }

            default:
                return null;
        }
    }

    /// <summary>
    /// What a member was read from: a variable (local, parameter, field) by its static type, a property or call by its
    /// own description. Null when unknown.
    /// </summary>
    private string? DescribeReceiver(IlStack stack, MethodBody body, Instruction? producer, int depth)
    {
        switch (producer?.OpCode.Code)
        {
            case Code.Call:
            case Code.Callvirt:
            case Code.Ldsfld:
            case Code.Ldsflda:
                return DescribeExpression(stack, body, producer, depth);
            case Code.Ldfld:
            case Code.Ldflda:
                return CSharpNames.Type(((FieldReference)producer.Operand).FieldType);
            case Code.Ldloc:
            case Code.Ldloc_S:
            case Code.Ldloc_0:
            case Code.Ldloc_1:
            case Code.Ldloc_2:
            case Code.Ldloc_3:
            case Code.Ldloca:
            case Code.Ldloca_S:
                return IlEditing.LocalOf(body, producer) is { } local ? CSharpNames.Type(local.VariableType) : null;
            default:
                return null;
        }
    }

    private static bool IsLocalFunction(MethodReference callee) => callee.Name.IndexOf(">g__", System.StringComparison.Ordinal) > 0;

    private static string CalleeName(MethodReference callee)
    {
        string name = callee.Name;
        if (!name.StartsWith("<", System.StringComparison.Ordinal))
        {
            return name;
        }

        // Local function <Outer>g__Inner|0_0, or a lambda <Outer>b__0_0.
        int marker = name.IndexOf(">g__", System.StringComparison.Ordinal);
        if (marker >= 0)
        {
            int start = marker + 4;
            int bar = name.IndexOf('|', start);
            return bar > start ? name.Substring(start, bar - start) : name.Substring(start);
        }

        return "lambda";
    }

    private static string DescribeConstant(Instruction? producer) => producer?.OpCode.Code switch
    {
        Code.Ldc_I4_0 => "false",
        Code.Ldc_I4_1 => "true",
        _ => Ellipsis,
    };

    /// <summary>
    /// Where to copy the awaited object into a local, so the runtime can name its type and link an awaiter to the
    /// operation it awaits: before GetAwaiter when the awaitable is an object; the Task itself for
    /// <c>task.ConfigureAwait(…)</c> (the struct awaitable says nothing); the enumerator (an async iterator's frame)
    /// for <c>MoveNextAsync()</c>/<c>DisposeAsync()</c>. Null when the awaitable is a struct with nothing behind it we can reach.
    /// </summary>
    private static Instruction? CapturePoint(IlStack stack, Instruction getAwaiter, Instruction? awaitable, out bool after)
    {
        after = false;
        var method = (MethodReference)getAwaiter.Operand;
        if (IsReferenceType(AwaitableType(method)) && (method.HasThis || method.Parameters.Count == 1))
        {
            return getAwaiter;
        }

        if (awaitable?.OpCode.Code is not (Code.Callvirt or Code.Call) || awaitable.Operand is not MethodReference { HasThis: true } producerMethod)
        {
            return null;
        }

        if (producerMethod.Name == "ConfigureAwait" && producerMethod.Parameters.Count == 1 && IsReferenceType(producerMethod.DeclaringType) &&
            stack.FindProducer(awaitable, 0) is { } task)
        {
            after = true;
            return task;
        }

        if (producerMethod.Name is "MoveNextAsync" or "DisposeAsync" && producerMethod.Parameters.Count == 0 && IsReferenceType(producerMethod.DeclaringType))
        {
            return awaitable;
        }

        return null;
    }

    private static TypeReference AwaitableType(MethodReference getAwaiter) =>
        getAwaiter.HasThis || getAwaiter.Parameters.Count == 0 ? getAwaiter.DeclaringType : getAwaiter.Parameters[0].ParameterType;

    private static bool IsReferenceType(TypeReference type)
    {
        if (type is GenericParameter or ByReferenceType or PointerType)
        {
            return false;
        }

        TypeDefinition? definition = null;
        try
        {
            definition = type.Resolve();
        }
        catch (AssemblyResolutionException)
        {
        }

        return definition is not null && !definition.IsValueType;
    }

    /// <summary>
    /// The implicit <c>DisposeAsync()</c> of <c>await using</c> and <c>await foreach</c> runs in hidden code reached from
    /// several paths; its statement is where the disposed object was stored (the resource, or the enumerator).
    /// </summary>
    private static SequencePoint? DisposalPoint(MethodDefinition moveNext, IlStack stack, Instruction? awaitable)
    {
        if (awaitable?.Operand is not MethodReference { Name: "DisposeAsync", HasThis: true, Parameters.Count: 0 } ||
            stack.FindProducer(awaitable, 0) is not { } receiver)
        {
            return null;
        }

        MethodBody body = moveNext.Body;
        VariableDefinition? local = IlEditing.LocalOf(body, receiver);
        FieldReference? field = receiver.OpCode.Code == Code.Ldfld ? (FieldReference)receiver.Operand : null;
        if (local is null && field is null)
        {
            return null;
        }

        foreach (Instruction store in body.Instructions)
        {
            bool stores = field is not null
                ? store.OpCode.Code == Code.Stfld && store.Operand is FieldReference target && target.Name == field.Name
                : IlEditing.IsStoreTo(body, store, local!);
            if (stores && stack.FindProducer(store, field is null ? 0 : 1) is { } value && value.OpCode.Code != Code.Ldnull)
            {
                return FindSequencePoint(moveNext, stack, store);
            }
        }

        return null;
    }

    /// <summary>Whether the statement <paramref name="instruction"/> belongs to (the last sequence point at or before it) is hidden.</summary>
    private static bool IsInHiddenCode(MethodDefinition method, Instruction? instruction)
    {
        for (Instruction? current = instruction; current is not null; current = current.Previous)
        {
            if (method.DebugInformation.GetSequencePoint(current) is { } point)
            {
                return point.IsHidden;
            }
        }

        return false;
    }

    /// <summary>
    /// The source line of an await: the nearest visible sequence point on the ways control takes to reach it (an await
    /// in a switch-expression arm has none of its own: the switch's). When the ways disagree, no line: never a wrong one.
    /// </summary>
    private static SequencePoint? FindSequencePoint(MethodDefinition method, IlStack stack, Instruction from)
    {
        if (!method.DebugInformation.HasSequencePoints)
        {
            return null;
        }

        SequencePoint? found = null;
        var seen = new HashSet<Instruction>();
        var pending = new Stack<Instruction>();
        pending.Push(from);
        while (pending.Count > 0)
        {
            Instruction current = pending.Pop();
            if (!seen.Add(current))
            {
                continue;
            }

            if (seen.Count > 4 * MaxLookBack)
            {
                return null;
            }

            SequencePoint? point = method.DebugInformation.GetSequencePoint(current);
            if (point is not null && !point.IsHidden)
            {
                if (found is not null && (found.StartLine != point.StartLine || found.Document.Url != point.Document.Url))
                {
                    return null;
                }

                found = point;
                continue;
            }

            foreach (Instruction predecessor in stack.Predecessors(current))
            {
                pending.Push(predecessor);
            }
        }

        return found;
    }
}
