using System.Collections.Generic;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

/// <summary>What the describer found about an await: its row, and the IL the weaving path may use.</summary>
internal sealed class AwaitDescription
{
    public AwaitDescription(SiteRow row, Instruction? getAwaiter, Instruction? awaitable)
    {
        Row = row;
        GetAwaiter = getAwaiter;
        Awaitable = awaitable;
    }

    public SiteRow Row { get; }

    /// <summary>The <c>GetAwaiter()</c> whose awaiter the await consumes, when the IL says so unambiguously.</summary>
    public Instruction? GetAwaiter { get; }

    /// <summary>The instruction that produced the awaited object (a spilled struct looked through), when known.</summary>
    public Instruction? Awaitable { get; }
}

/// <summary>
/// The one describer of await and spawn sites for every weaving path (state machines, runtime-async methods, spawn
/// calls): the method a report names, the source line, the awaited expression, and the <see cref="SiteRow"/> itself.
/// Each path decides only what to insert. Locations follow one rule everywhere: the nearest visible sequence point
/// on every way control reaches the site; when the ways disagree, no line (never a wrong one).
/// </summary>
internal sealed class SiteDescriber
{
    private const int MaxLookBack = 64;
    private const string Ellipsis = "\u2026";

    private readonly string _shape;

    /// <param name="method">The method whose IL holds the sites (a MoveNext, a runtime-async method, any spawn host).</param>
    /// <param name="user">The method the user wrote, which reports name (the kickoff of a state machine).</param>
    /// <param name="shape">The row's shape column: <c>async Task&lt;int&gt;</c>, the spawn overload, …</param>
    internal SiteDescriber(MethodDefinition method, MethodDefinition user, string shape)
    {
        Method = method;
        Body = method.Body;
        Stack = new IlStack(method.Body);
        DisplayName = CSharpNames.Method(user, out string detail);
        Detail = detail;
        _shape = shape;
    }

    internal MethodDefinition Method { get; }

    internal MethodBody Body { get; }

    internal IlStack Stack { get; }

    internal string DisplayName { get; }

    internal string Detail { get; }

    /// <summary>The one SiteRow factory.</summary>
    internal SiteRow Row(char kind, Instruction at, SequencePoint? point, string target, string? shape = null) => new()
    {
        Kind = kind,
        Method = DisplayName,
        SourcePath = point?.Document.Url,
        Line = point?.StartLine ?? 0,
        IlOffset = at.Offset,
        Target = target,
        Detail = Detail,
        Shape = shape ?? _shape,
    };

    /// <summary>A spawn call: located like an await, described by the caller (the API as written).</summary>
    internal SiteRow Spawn(Instruction call, string target, string overload) => Row('S', call, Locate(call, null), target, overload);

    /// <summary>
    /// An await that consumes the awaiter in argument <paramref name="awaiterArgument"/> of <paramref name="awaitCall"/>
    /// (<c>builder.AwaitUnsafeOnCompleted(ref awaiter, …)</c>, <c>AsyncHelpers.UnsafeAwaitAwaiter(awaiter)</c>), or,
    /// with a negative argument, the awaitable itself in argument 0 (<c>AsyncHelpers.Await(task)</c>).
    /// <paramref name="fallback"/> names the target when the IL does not say more (the awaiter's or awaitable's type).
    /// </summary>
    internal AwaitDescription Await(Instruction awaitCall, int awaiterArgument, string? fallback)
    {
        Instruction? getAwaiter = awaiterArgument >= 0 ? FindGetAwaiter(awaitCall, awaiterArgument) : null;
        Instruction? awaitable = awaiterArgument >= 0
            ? (getAwaiter is null ? null : ValueProducer(getAwaiter, 0))
            : ValueProducer(awaitCall, 0);
        string? target = DescribeExpression(awaitable, 0);
        if (target is null && getAwaiter is not null)
        {
            target = CSharpNames.Type(AwaitableType((MethodReference)getAwaiter.Operand));
        }

        SequencePoint? point = Locate(getAwaiter ?? awaitCall, awaitable);
        return new AwaitDescription(Row('A', awaitCall, point, target ?? fallback ?? ""), getAwaiter, awaitable);
    }

    /// <summary>
    /// Where a site is in the source. An implicit DisposeAsync sits in hidden code after the block it disposes: walking
    /// back from it reaches the block's last statement (one line, so it looks certain); the statement that acquired the
    /// object is the answer.
    /// </summary>
    internal SequencePoint? Locate(Instruction from, Instruction? awaitable) =>
        (IsInHiddenCode(awaitable) ? DisposalPoint(awaitable) : null) ?? FindSequencePoint(from) ?? DisposalPoint(awaitable);

    /// <summary>
    /// The <c>GetAwaiter()</c> whose result is the awaiter this await consumes: it stores into the very local passed
    /// to the await. Anything else (an awaiter from elsewhere) gets no description from it.
    /// </summary>
    private Instruction? FindGetAwaiter(Instruction awaitCall, int awaiterArgument)
    {
        VariableDefinition? awaiter = Stack.FindProducer(awaitCall, awaiterArgument) is { } load ? IlEditing.LocalOf(Body, load) : null;
        if (awaiter is null)
        {
            return null;
        }

        Instruction? current = awaitCall.Previous;
        for (int i = 0; current is not null && i < MaxLookBack; i++, current = current.Previous)
        {
            if (current.OpCode.Code is not (Code.Call or Code.Callvirt) || current.Operand is not MethodReference callee)
            {
                continue;
            }

            if (callee.Name == "GetAwaiter")
            {
                return current.Next is { } store && IlEditing.IsStoreTo(Body, store, awaiter) ? current : null;
            }

            if (callee.Name is "AwaitUnsafeOnCompleted" or "AwaitOnCompleted" || callee.DeclaringType.FullName == ModuleWeaver.AsyncHelpersTypeName)
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
    internal Instruction? ValueProducer(Instruction consumer, int argument)
    {
        Instruction? producer = Stack.FindProducer(consumer, argument);
        if (producer?.OpCode.Code is not (Code.Ldloca or Code.Ldloca_S))
        {
            return producer;
        }

        VariableDefinition? local = IlEditing.LocalOf(Body, producer);
        if (local is null || Method.DebugInformation.TryGetName(local, out _))
        {
            return producer;
        }

        Instruction? store = producer.Previous;
        if (store is null || !IlEditing.IsStoreTo(Body, store, local) || !Stack.IsStraight(store, producer))
        {
            return null;
        }

        return Stack.FindProducer(store, 0);
    }

    /// <summary>
    /// The awaited expression as written, as far as the IL lets us recover it: members read through their receiver's
    /// static type (<c>SemaphoreSlim.WaitAsync()</c>, <c>Channel&lt;int&gt;.Reader.ReadAsync(…)</c>), a variable by its name.
    /// Null when the IL does not say (a join, an unusual producer): the caller falls back to the awaitable's type.
    /// </summary>
    internal string? DescribeExpression(Instruction? producer, int depth)
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
                if (IsAwaitResult(callee))
                {
                    // `await await …`: the compiler's plumbing says nothing the user wrote; the awaitable's type does.
                    return null;
                }

                if (callee.Name == "ConfigureAwait" && callee.HasThis && callee.Parameters.Count == 1)
                {
                    string inner = DescribeExpression(ValueProducer(producer, 0), depth + 1)
                        ?? CSharpNames.Type(callee.DeclaringType);
                    return inner + ".ConfigureAwait(" + DescribeConstant(Stack.FindProducer(producer, 1)) + ")";
                }

                string member = callee.Name.StartsWith("get_", System.StringComparison.Ordinal) && callee.Parameters.Count == 0
                    ? callee.Name.Substring(4)
                    : CalleeName(callee) + (callee.Parameters.Count > 0 ? "(" + Ellipsis + ")" : "()");
                if (CSharpNames.IsCompilerGenerated(callee.DeclaringType) || IsLocalFunction(callee))
                {
                    return member;
                }

                string? owner = callee.HasThis ? DescribeReceiver(ValueProducer(producer, 0), depth + 1) : null;
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

            case Code.Ldarg:
            case Code.Ldarg_S:
            case Code.Ldarg_0:
            case Code.Ldarg_1:
            case Code.Ldarg_2:
            case Code.Ldarg_3:
            case Code.Ldarga:
            case Code.Ldarga_S:
                return ParameterOf(producer)?.Name is { Length: > 0 } parameter ? parameter : null;

            case Code.Ldloc:
            case Code.Ldloc_S:
            case Code.Ldloc_0:
            case Code.Ldloc_1:
            case Code.Ldloc_2:
            case Code.Ldloc_3:
            case Code.Ldloca:
            case Code.Ldloca_S:
            {
                VariableDefinition? local = IlEditing.LocalOf(Body, producer);
                return local is not null && Method.DebugInformation.TryGetName(local, out string name) ? name : null;
            }

            default:
                return null;
        }
    }

    /// <summary>
    /// What a member was read from: a variable (local, parameter, field) by its static type, a property or call by its
    /// own description. Null when unknown.
    /// </summary>
    private string? DescribeReceiver(Instruction? producer, int depth)
    {
        switch (producer?.OpCode.Code)
        {
            case Code.Call:
            case Code.Callvirt:
            case Code.Ldsfld:
            case Code.Ldsflda:
                return DescribeExpression(producer, depth);
            case Code.Ldfld:
            case Code.Ldflda:
                return CSharpNames.Type(((FieldReference)producer.Operand).FieldType);
            case Code.Ldarg:
            case Code.Ldarg_S:
            case Code.Ldarg_0:
            case Code.Ldarg_1:
            case Code.Ldarg_2:
            case Code.Ldarg_3:
            case Code.Ldarga:
            case Code.Ldarga_S:
                return ParameterOf(producer) is { } argument ? CSharpNames.Type(argument.ParameterType) : null;
            case Code.Ldloc:
            case Code.Ldloc_S:
            case Code.Ldloc_0:
            case Code.Ldloc_1:
            case Code.Ldloc_2:
            case Code.Ldloc_3:
            case Code.Ldloca:
            case Code.Ldloca_S:
                return IlEditing.LocalOf(Body, producer) is { } local ? CSharpNames.Type(local.VariableType) : null;
            default:
                return null;
        }
    }

    /// <summary>The parameter an <c>ldarg</c> loads; null for <c>this</c> (in a MoveNext, the state machine itself).</summary>
    private ParameterDefinition? ParameterOf(Instruction load)
    {
        if (load.Operand is ParameterDefinition parameter)
        {
            return parameter;
        }

        int index = load.OpCode.Code switch
        {
            Code.Ldarg_0 => 0,
            Code.Ldarg_1 => 1,
            Code.Ldarg_2 => 2,
            Code.Ldarg_3 => 3,
            _ => -1,
        };
        if (Method.HasThis)
        {
            index--;
        }

        return index >= 0 && index < Method.Parameters.Count ? Method.Parameters[index] : null;
    }

    /// <summary>
    /// The result of an earlier await: <c>awaiter.GetResult()</c> in a state machine, an <c>AsyncHelpers</c> call in a
    /// runtime-async method. Which one depends on the compilation, so neither is described.
    /// </summary>
    private static bool IsAwaitResult(MethodReference callee)
    {
        if (callee.DeclaringType.FullName == ModuleWeaver.AsyncHelpersTypeName)
        {
            return true;
        }

        string owner = callee.DeclaringType.GetElementType().Name;
        int arity = owner.IndexOf('`');
        return callee.Name == "GetResult" && callee.HasThis && callee.Parameters.Count == 0 &&
            (arity < 0 ? owner : owner.Substring(0, arity)).EndsWith("Awaiter", System.StringComparison.Ordinal);
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
    internal Instruction? CapturePoint(Instruction getAwaiter, Instruction? awaitable, out bool after)
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
            Stack.FindProducer(awaitable, 0) is { } task)
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

    internal static TypeReference AwaitableType(MethodReference getAwaiter) =>
        getAwaiter.HasThis || getAwaiter.Parameters.Count == 0 ? getAwaiter.DeclaringType : getAwaiter.Parameters[0].ParameterType;

    internal static bool IsReferenceType(TypeReference type)
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
    private SequencePoint? DisposalPoint(Instruction? awaitable)
    {
        if (awaitable?.Operand is not MethodReference { Name: "DisposeAsync", HasThis: true, Parameters.Count: 0 } ||
            Stack.FindProducer(awaitable, 0) is not { } receiver)
        {
            return null;
        }

                VariableDefinition? local = IlEditing.LocalOf(Body, receiver);
        FieldReference? field = receiver.OpCode.Code == Code.Ldfld ? (FieldReference)receiver.Operand : null;
        if (local is null && field is null)
        {
            return null;
        }

        foreach (Instruction store in Body.Instructions)
        {
            bool stores = field is not null
                ? store.OpCode.Code == Code.Stfld && store.Operand is FieldReference target && target.Name == field.Name
                : IlEditing.IsStoreTo(Body, store, local!);
            if (stores && Stack.FindProducer(store, field is null ? 0 : 1) is { } value && value.OpCode.Code != Code.Ldnull)
            {
                return FindSequencePoint(store);
            }
        }

        return null;
    }

    /// <summary>Whether the statement <paramref name="instruction"/> belongs to (the last sequence point at or before it) is hidden.</summary>
    private bool IsInHiddenCode(Instruction? instruction)
    {
        for (Instruction? current = instruction; current is not null; current = current.Previous)
        {
            if (Method.DebugInformation.GetSequencePoint(current) is { } point)
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
    private SequencePoint? FindSequencePoint(Instruction from)
    {
        if (!Method.DebugInformation.HasSequencePoints)
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

            SequencePoint? point = Method.DebugInformation.GetSequencePoint(current);
            if (point is not null && !point.IsHidden)
            {
                if (found is not null && (found.StartLine != point.StartLine || found.Document.Url != point.Document.Url))
                {
                    return null;
                }

                found = point;
                continue;
            }

            foreach (Instruction predecessor in Stack.Predecessors(current))
            {
                pending.Push(predecessor);
            }
        }

        return found;
    }
}
