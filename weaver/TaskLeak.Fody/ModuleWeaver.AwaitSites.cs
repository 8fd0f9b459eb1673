using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

/// <summary>An await in a MoveNext: the builder call that suspends, and what a report will say about it.</summary>
internal sealed class AwaitSite
{
    public AwaitSite(Instruction awaitCall, Instruction builderLoad, SiteRow row, Instruction? captureBefore)
    {
        AwaitCall = awaitCall;
        BuilderLoad = builderLoad;
        Row = row;
        CaptureBefore = captureBefore;
    }

    /// <summary><c>builder.AwaitUnsafeOnCompleted(ref awaiter, ref this)</c> (or AwaitOnCompleted).</summary>
    public Instruction AwaitCall { get; }

    /// <summary>The <c>ldflda &lt;&gt;t__builder</c> that loads the builder for the await call.</summary>
    public Instruction BuilderLoad { get; }

    public SiteRow Row { get; }

    /// <summary>When set, the awaited object is on top of the stack just before this instruction.</summary>
    public Instruction? CaptureBefore { get; }
}

public partial class ModuleWeaver
{
    private const int MaxLookBack = 64;

    private AwaitSite DescribeAwait(AsyncMethod method, IlStack stack, Instruction awaitCall, Instruction builderLoad)
    {
        MethodBody body = method.MoveNext.Body;
        Instruction? getAwaiter = FindGetAwaiter(awaitCall);
        string? target = null;
        Instruction? capture = null;
        if (getAwaiter is not null)
        {
            Instruction? awaitable = ValueProducer(stack, body, getAwaiter, 0);
            target = DescribeExpression(stack, body, awaitable, 0);
            capture = CapturePoint(getAwaiter, awaitable);
            target ??= CSharpNames.Type(AwaitableType((MethodReference)getAwaiter.Operand));
        }

        if (target is null && awaitCall.Operand is GenericInstanceMethod generic && generic.GenericArguments.Count > 0)
        {
            target = CSharpNames.Type(generic.GenericArguments[0]);
        }

        SequencePoint? point = FindSequencePoint(method.MoveNext, getAwaiter ?? awaitCall);
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
        return new AwaitSite(awaitCall, builderLoad, row, capture);
    }

    private static Instruction? FindGetAwaiter(Instruction awaitCall)
    {
        Instruction? current = awaitCall.Previous;
        for (int i = 0; current is not null && i < MaxLookBack; i++, current = current.Previous)
        {
            if (current.OpCode.Code is Code.Call or Code.Callvirt && current.Operand is MethodReference { Name: "GetAwaiter" })
            {
                return current;
            }

            if (current.OpCode.Code is Code.Call && current.Operand is MethodReference { Name: "AwaitUnsafeOnCompleted" or "AwaitOnCompleted" })
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>The instruction that produced argument <paramref name="argument"/>, looking through a struct spilled to a local.</summary>
    private static Instruction? ValueProducer(IlStack stack, MethodBody body, Instruction consumer, int argument)
    {
        Instruction? producer = stack.FindProducer(consumer, argument);
        if (producer?.OpCode.Code is not (Code.Ldloca or Code.Ldloca_S))
        {
            return producer;
        }

        VariableDefinition? local = IlEditing.LocalOf(body, producer);
        Instruction? current = producer.Previous;
        for (int i = 0; current is not null && local is not null && i < MaxLookBack; i++, current = current.Previous)
        {
            if (IlEditing.IsStoreTo(body, current, local))
            {
                return stack.FindProducer(current, 0);
            }
        }

        return producer;
    }

    /// <summary>The awaited expression as written, as far as the IL lets us recover it.</summary>
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

                string owner = CSharpNames.IsCompilerGenerated(callee.DeclaringType) ? "" : CSharpNames.Type(callee.DeclaringType) + ".";
                if (callee.Name.StartsWith("get_", System.StringComparison.Ordinal) && callee.Parameters.Count == 0)
                {
                    return owner + callee.Name.Substring(4);
                }

                return owner + CalleeName(callee) + (callee.Parameters.Count > 0 ? "(\u2026)" : "()");
            }

            case Code.Newobj:
                return "new " + CSharpNames.Type(((MethodReference)producer.Operand).DeclaringType) + "(\u2026)";
            case Code.Ldfld:
            case Code.Ldflda:
            case Code.Ldsfld:
            case Code.Ldsflda:
            {
                var field = (FieldReference)producer.Operand;
                return CSharpNames.IsCompilerGenerated(field.DeclaringType)
                    ? CSharpNames.HoistedName(field.Name)
                    : CSharpNames.Type(field.DeclaringType) + "." + field.Name;
            }

            case Code.Ldloc:
            case Code.Ldloc_S:
            case Code.Ldloc_0:
            case Code.Ldloc_1:
            case Code.Ldloc_2:
            case Code.Ldloc_3:
            {
                VariableDefinition? local = IlEditing.LocalOf(body, producer);
                return local is not null && body.Method.DebugInformation.TryGetName(local, out string name) ? name : null;
            }

            default:
                return null;
        }
    }

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
        _ => "\u2026",
    };

    /// <summary>
    /// Where to copy the awaited object into a local: before GetAwaiter when its receiver is an object, or before
    /// an async enumerator's MoveNextAsync/DisposeAsync (the enumerator is the iterator's frame).
    /// </summary>
    private static Instruction? CapturePoint(Instruction getAwaiter, Instruction? awaitable)
    {
        var method = (MethodReference)getAwaiter.Operand;
        if (IsReferenceType(AwaitableType(method)) && (method.HasThis || method.Parameters.Count == 1))
        {
            return getAwaiter;
        }

        if (awaitable?.OpCode.Code is Code.Callvirt or Code.Call &&
            awaitable.Operand is MethodReference { Name: "MoveNextAsync" or "DisposeAsync", HasThis: true, Parameters.Count: 0 } producerMethod &&
            IsReferenceType(producerMethod.DeclaringType))
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

    private static SequencePoint? FindSequencePoint(MethodDefinition method, Instruction from)
    {
        if (!method.DebugInformation.HasSequencePoints)
        {
            return null;
        }

        Instruction? current = from;
        for (int i = 0; current is not null && i < 4 * MaxLookBack; i++, current = current.Previous)
        {
            SequencePoint? point = method.DebugInformation.GetSequencePoint(current);
            if (point is not null && !point.IsHidden)
            {
                return point;
            }
        }

        return null;
    }
}
