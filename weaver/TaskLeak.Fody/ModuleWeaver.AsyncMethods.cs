using System.Collections.Generic;
using System.Linq;
using Mono.Cecil;

namespace TaskLeak.Fody;

/// <summary>How an operation's liveness is proven, chosen per state machine.</summary>
internal enum ProofStrategy
{
    /// <summary>Task builders: the builder's Task is the state-machine box; attached after the first schedule.</summary>
    Box,

    /// <summary>Class state machines of other builders: the state machine object is the frame.</summary>
    Frame,

    /// <summary>Struct state machines of other builders: a token object only the frame references.</summary>
    Token,
}

/// <summary>An async method the compiler turned into a state machine.</summary>
internal sealed class AsyncMethod
{
    public AsyncMethod(MethodDefinition kickoff, TypeDefinition stateMachine, MethodDefinition moveNext, bool isIterator)
    {
        Kickoff = kickoff;
        StateMachine = stateMachine;
        MoveNext = moveNext;
        IsIterator = isIterator;
        DisplayName = CSharpNames.Method(kickoff, out string detail);
        Detail = detail;
    }

    public MethodDefinition Kickoff { get; }
    public TypeDefinition StateMachine { get; }
    public MethodDefinition MoveNext { get; }
    public bool IsIterator { get; }
    public string DisplayName { get; }
    public string Detail { get; }

    public string Shape => "async " + CSharpNames.Type(Kickoff.ReturnType);

    public override string ToString() => DisplayName;
}

public partial class ModuleWeaver
{
    internal const string DoNotTrackAttributeName = "TaskLeak.DoNotTrackAttribute";
    private const string AsyncStateMachineAttributeName = "System.Runtime.CompilerServices.AsyncStateMachineAttribute";
    private const string AsyncIteratorStateMachineAttributeName = "System.Runtime.CompilerServices.AsyncIteratorStateMachineAttribute";

    private IEnumerable<AsyncMethod> FindAsyncMethods(WeaverConfig config, WeaveSummary summary)
    {
        bool assemblyOptedOut = HasDoNotTrack(ModuleDefinition.Assembly) || HasDoNotTrack(ModuleDefinition);
        foreach (TypeDefinition type in ModuleDefinition.GetTypes().ToList())
        {
            foreach (MethodDefinition method in type.Methods.ToList())
            {
                CustomAttribute? marker = method.CustomAttributes.FirstOrDefault(a =>
                    a.AttributeType.FullName is AsyncStateMachineAttributeName or AsyncIteratorStateMachineAttributeName);
                if (marker is null)
                {
                    continue;
                }

                if (assemblyOptedOut || IsOptedOut(method, config))
                {
                    summary.Excluded++;
                    continue;
                }

                TypeDefinition? stateMachine = (marker.ConstructorArguments.FirstOrDefault().Value as TypeReference)?.Resolve();
                MethodDefinition? moveNext = stateMachine?.Methods.FirstOrDefault(m => m.Name == "MoveNext" && m.HasBody);
                if (stateMachine is null || moveNext is null || stateMachine.Module != ModuleDefinition)
                {
                    Skip(method, moveNext, summary,
                        $"TaskLeak: {CSharpNames.Method(method, out _)} was not woven: its state machine type could not be found in this module.");
                    continue;
                }

                yield return new AsyncMethod(method, stateMachine, moveNext,
                    marker.AttributeType.FullName == AsyncIteratorStateMachineAttributeName);
            }
        }
    }

    private bool IsOptedOut(MethodDefinition method, WeaverConfig config)
    {
        if (HasDoNotTrack(method))
        {
            return true;
        }

        TypeDefinition? outermost = null;
        for (TypeDefinition? type = method.DeclaringType; type is not null; type = type.DeclaringType)
        {
            if (HasDoNotTrack(type))
            {
                return true;
            }

            outermost = type;
        }

        if (config.IsExcluded(outermost?.Namespace))
        {
            return true;
        }

        // Lambdas and local functions follow their containing method's opt-out.
        if (method.Name.StartsWith("<", System.StringComparison.Ordinal))
        {
            int close = method.Name.IndexOf('>');
            string containing = close > 1 ? method.Name.Substring(1, close - 1) : "";
            TypeDefinition user = method.DeclaringType;
            while (CSharpNames.IsCompilerGenerated(user) && user.DeclaringType is not null)
            {
                user = user.DeclaringType;
            }

            if (containing.Length > 0 && user.Methods.Any(m => m.Name == containing && HasDoNotTrack(m)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasDoNotTrack(ICustomAttributeProvider provider) =>
        provider.HasCustomAttributes && provider.CustomAttributes.Any(a => a.AttributeType.FullName == DoNotTrackAttributeName);
}
