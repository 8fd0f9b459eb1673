using System.Collections.Generic;
using System.Linq;
using Mono.Cecil;

namespace TaskLeak.Fody;

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

/// <summary>A method with spawn calls, and the method reports name it after (a MoveNext's kickoff).</summary>
internal sealed class SpawnHost
{
    public SpawnHost(MethodDefinition method, MethodDefinition user)
    {
        Method = method;
        User = user;
    }

    public MethodDefinition Method { get; }

    public MethodDefinition User { get; }
}

/// <summary>What the one scan of the module found, in module order.</summary>
internal sealed class ModuleScan
{
    public List<AsyncMethod> StateMachines { get; } = new();

    public List<MethodDefinition> RuntimeAsync { get; } = new();

    public List<SpawnHost> SpawnHosts { get; } = new();
}

public partial class ModuleWeaver
{
    internal const string DoNotTrackAttributeName = "TaskLeak.DoNotTrackAttribute";
    private const string AsyncStateMachineAttributeName = "System.Runtime.CompilerServices.AsyncStateMachineAttribute";
    private const string AsyncIteratorStateMachineAttributeName = "System.Runtime.CompilerServices.AsyncIteratorStateMachineAttribute";

    private const string IteratorStateMachineAttributeName = "System.Runtime.CompilerServices.IteratorStateMachineAttribute";

    /// <summary>
    /// The one scan of the module: every compiler state machine, runtime-async method and spawn host, with opt-outs
    /// applied once. Nothing is changed here; a method whose reading fails is skipped with a TL0005 warning.
    /// </summary>
    private ModuleScan ScanModule(WeaverConfig config, WeaveSummary summary)
    {
        bool assemblyOptedOut = HasDoNotTrack(ModuleDefinition.Assembly) || HasDoNotTrack(ModuleDefinition);
        var scan = new ModuleScan();
        var kickoffs = new Dictionary<TypeDefinition, MethodDefinition>();
        var spawnHosts = new List<MethodDefinition>();
        foreach (TypeDefinition type in ModuleDefinition.GetTypes().Where(t => !IsTaskLeakGenerated(t)).ToList())
        {
            foreach (MethodDefinition method in type.Methods.ToList())
            {
                Analyse(method, method, summary, () =>
                {
                    ScanMethod(method, config, assemblyOptedOut, scan, kickoffs, summary);
                    if (method.HasBody && method.Body.Instructions.Any(i => ClassifySpawn(i) is not null))
                    {
                        spawnHosts.Add(method);
                    }

                    return scan;
                }, WeaveStep.Scan);
            }
        }

        foreach (MethodDefinition method in spawnHosts)
        {
            // A state machine's MoveNext is named, and opted out, after the method the user wrote.
            MethodDefinition user = kickoffs.TryGetValue(method.DeclaringType, out MethodDefinition? kickoff) ? kickoff : method;
            if (!assemblyOptedOut && !IsOptedOut(user, config))
            {
                scan.SpawnHosts.Add(new SpawnHost(method, user));
            }
        }

        return scan;
    }

    private void ScanMethod(MethodDefinition method, WeaverConfig config, bool assemblyOptedOut, ModuleScan scan,
        Dictionary<TypeDefinition, MethodDefinition> kickoffs, WeaveSummary summary)
    {
        if (IsRuntimeAsync(method) && method.HasBody)
        {
            if (assemblyOptedOut || IsOptedOut(method, config))
            {
                summary.Excluded++;
            }
            else
            {
                scan.RuntimeAsync.Add(method);
            }

            return;
        }

        CustomAttribute? marker = method.CustomAttributes.FirstOrDefault(a =>
            a.AttributeType.FullName is AsyncStateMachineAttributeName or AsyncIteratorStateMachineAttributeName or IteratorStateMachineAttributeName);
        if (marker is null)
        {
            return;
        }

        TypeDefinition? stateMachine = (marker.ConstructorArguments.FirstOrDefault().Value as TypeReference)?.Resolve();
        if (stateMachine is not null)
        {
            kickoffs[stateMachine] = method;
        }

        if (marker.AttributeType.FullName == IteratorStateMachineAttributeName)
        {
            return;
        }

        if (assemblyOptedOut || IsOptedOut(method, config))
        {
            summary.Excluded++;
            return;
        }

        MethodDefinition? moveNext = stateMachine?.Methods.FirstOrDefault(m => m.Name == "MoveNext" && m.HasBody);
        if (stateMachine is null || moveNext is null || stateMachine.Module != ModuleDefinition)
        {
            WarnSkipped(Codes.StateMachineSkipped, CSharpNames.Method(method, out _), method, moveNext,
                "its state machine type could not be found in this module", summary);
            return;
        }

        scan.StateMachines.Add(new AsyncMethod(method, stateMachine, moveNext, marker.AttributeType.FullName == AsyncIteratorStateMachineAttributeName));
    }

    private static bool IsTaskLeakGenerated(TypeDefinition type) =>
        type.Namespace.Length == 0 && type.Name is SiteTableTypeName or SpawnTypeName;

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
