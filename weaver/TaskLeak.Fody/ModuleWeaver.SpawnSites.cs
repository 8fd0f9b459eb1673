using System.Collections.Generic;
using System.Linq;
using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;

namespace TaskLeak.Fody;

/// <summary>The APIs that start work on another thread, capturing the ExecutionContext as they do.</summary>
internal enum SpawnApi
{
    /// <summary><c>Task.Run</c>, every overload.</summary>
    Run,

    /// <summary><c>TaskFactory.StartNew</c> and <c>TaskFactory&lt;T&gt;.StartNew</c>, reached through <c>Task.Factory</c> or not.</summary>
    StartNew,

    /// <summary><c>new Task(…)</c> / <c>new Task&lt;T&gt;(…)</c>: the constructor captures the ExecutionContext, so it is the spawn point, not <c>Start()</c>.</summary>
    NewTask,
}

public partial class ModuleWeaver
{
    internal const string SpawnTypeName = "<TaskLeak>Spawn";

    /// <summary>
    /// Routes every spawn call of the module through a generated wrapper that enters the spawn site's origin for the
    /// duration of the call (try/finally, so a throwing call never leaves its caller inside the origin). The spawned
    /// work captures the ExecutionContext during the call, so operations it suspends record the site as their origin.
    /// </summary>
    private void WeaveSpawnSites(WeaverConfig config, HookReferences hooks, SiteTable sites, WeaveSummary summary)
    {
        if (!config.TrackSpawnSites)
        {
            return;
        }

        List<TypeDefinition> types = ModuleDefinition.GetTypes().Where(t => !IsTaskLeakGenerated(t)).ToList();
        Dictionary<TypeDefinition, MethodDefinition> kickoffs = StateMachineKickoffs(types);
        bool assemblyOptedOut = HasDoNotTrack(ModuleDefinition.Assembly) || HasDoNotTrack(ModuleDefinition);
        var wrappers = new SpawnWrappers(this, hooks);
        foreach (TypeDefinition type in types)
        {
            foreach (MethodDefinition method in type.Methods)
            {
                if (!method.HasBody || !method.Body.Instructions.Any(i => ClassifySpawn(i) is not null))
                {
                    continue;
                }

                // A state machine's MoveNext is named, and opted out, after the method the user wrote.
                MethodDefinition user = kickoffs.TryGetValue(type, out MethodDefinition kickoff) ? kickoff : method;
                if (assemblyOptedOut || IsOptedOut(user, config))
                {
                    continue;
                }

                WeaveSpawnCalls(method, user, wrappers, sites, summary);
            }
        }
    }

    private void WeaveSpawnCalls(MethodDefinition method, MethodDefinition user, SpawnWrappers wrappers, SiteTable sites, WeaveSummary summary)
    {
        MethodBody body = method.Body;
        StackProducers? stack = StackProducers.Analyse(body);
        string displayName = CSharpNames.Method(user, out string detail);
        var found = new List<(Instruction Call, SiteRow Row)>();
        foreach (Instruction instruction in body.Instructions)
        {
            if (ClassifySpawn(instruction) is not { } api)
            {
                continue;
            }

            if (instruction.Previous?.OpCode.OpCodeType == OpCodeType.Prefix)
            {
                summary.Skipped++;
                WriteWarning($"TaskLeak: the spawn call at IL_{instruction.Offset:x4} in {displayName} carries an IL prefix ({instruction.Previous.OpCode.Name}) and was not woven; work it starts will not record where it was started.", method);
                continue;
            }

            var callee = (MethodReference)instruction.Operand;
            SequencePoint? point = NearestSequencePoint(method, instruction);
            found.Add((instruction, new SiteRow
            {
                Kind = 'S',
                Method = displayName,
                SourcePath = point?.Document.Url,
                Line = point?.StartLine ?? 0,
                IlOffset = instruction.Offset,
                Target = SpawnTarget(stack, instruction, callee, api),
                Detail = detail,
                Shape = SpawnOverload(callee, api),
            }));
        }

        if (found.Count == 0)
        {
            return;
        }

        body.SimplifyMacros();
        foreach ((Instruction call, SiteRow row) in found)
        {
            // Stack-neutral: the wrapper takes the original arguments (and receiver) plus the site id pushed here.
            MethodReference wrapper = wrappers.For(call);
            IlEditing.InsertBefore(body, call, sites.Add(row));
            call.OpCode = OpCodes.Call;
            call.Operand = wrapper;
            summary.SpawnSites++;
        }

        body.OptimizeMacros();
    }

    internal static SpawnApi? ClassifySpawn(Instruction instruction)
    {
        if (instruction.Operand is not MethodReference callee)
        {
            return null;
        }

        string owner = callee.DeclaringType.GetElementType().FullName;
        switch (instruction.OpCode.Code)
        {
            case Code.Call when !callee.HasThis && callee.Name == "Run" && owner == "System.Threading.Tasks.Task":
                return SpawnApi.Run;
            case Code.Call or Code.Callvirt when callee.HasThis && callee.Name == "StartNew" &&
                                                 owner is "System.Threading.Tasks.TaskFactory" or "System.Threading.Tasks.TaskFactory`1":
                return SpawnApi.StartNew;
            case Code.Newobj when owner is "System.Threading.Tasks.Task" or "System.Threading.Tasks.Task`1":
                return SpawnApi.NewTask;
            default:
                return null;
        }
    }

    /// <summary>The API as the user wrote it: <c>Task.Run</c>, <c>Task.Factory.StartNew</c>, <c>TaskFactory.StartNew</c>, <c>new Task</c>.</summary>
    private static string SpawnTarget(StackProducers? stack, Instruction call, MethodReference callee, SpawnApi api)
    {
        switch (api)
        {
            case SpawnApi.Run:
                return "Task.Run";
            case SpawnApi.NewTask:
                return "new " + CSharpNames.Type(callee.DeclaringType);
            default:
                Instruction? receiver = stack?.Producer(call, 0);
                if (receiver?.OpCode.Code is Code.Call && receiver.Operand is MethodReference { Name: "get_Factory", HasThis: false } factory &&
                    factory.DeclaringType.GetElementType().FullName is "System.Threading.Tasks.Task" or "System.Threading.Tasks.Task`1")
                {
                    return CSharpNames.Type(factory.DeclaringType) + ".Factory.StartNew";
                }

                return CSharpNames.Type(callee.DeclaringType) + ".StartNew";
        }
    }

    /// <summary>The overload, as the API documentation names it: <c>Task.Run(Func&lt;Task&gt;, CancellationToken)</c>.</summary>
    private static string SpawnOverload(MethodReference callee, SpawnApi api)
    {
        MethodReference shown = callee.GetElementMethod();
        try
        {
            shown = callee.Resolve() ?? shown;
        }
        catch (AssemblyResolutionException)
        {
        }

        string owner = CSharpNames.Type(shown.DeclaringType.GetElementType());
        string name = api == SpawnApi.NewTask ? owner
            : owner + "." + shown.Name + (shown.HasGenericParameters ? "<" + string.Join(", ", shown.GenericParameters.Select(p => p.Name)) + ">" : "");
        return name + "(" + string.Join(", ", shown.Parameters.Select(p => CSharpNames.Type(p.ParameterType))) + ")";
    }

    /// <summary>State machine type → the async method or iterator the user wrote.</summary>
    private static Dictionary<TypeDefinition, MethodDefinition> StateMachineKickoffs(IEnumerable<TypeDefinition> types)
    {
        var kickoffs = new Dictionary<TypeDefinition, MethodDefinition>();
        foreach (MethodDefinition method in types.SelectMany(t => t.Methods))
        {
            foreach (CustomAttribute attribute in method.CustomAttributes)
            {
                if (attribute.AttributeType.Namespace == "System.Runtime.CompilerServices" &&
                    attribute.AttributeType.Name is "AsyncStateMachineAttribute" or "AsyncIteratorStateMachineAttribute" or "IteratorStateMachineAttribute" &&
                    attribute.ConstructorArguments.FirstOrDefault().Value is TypeReference machine &&
                    machine.Resolve() is { } definition)
                {
                    kickoffs[definition] = method;
                }
            }
        }

        return kickoffs;
    }

    private static bool IsTaskLeakGenerated(TypeDefinition type) =>
        type.Namespace.Length == 0 && type.Name is SiteTableTypeName or SpawnTypeName;

    private static SequencePoint? NearestSequencePoint(MethodDefinition method, Instruction from)
    {
        if (!method.DebugInformation.HasSequencePoints)
        {
            return null;
        }

        for (Instruction? current = from; current is not null; current = current.Previous)
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
