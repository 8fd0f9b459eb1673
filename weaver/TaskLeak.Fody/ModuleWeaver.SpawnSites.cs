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
    private void WeaveSpawnSites(ModuleScan scan, HookReferences hooks, SiteTable sites, WeaveSummary summary)
    {
        var wrappers = new SpawnWrappers(this, hooks);
        foreach (SpawnHost host in scan.SpawnHosts)
        {
            List<(Instruction Call, SiteRow Row)>? found = Analyse(host.Method, host.User, summary, () => FindSpawnCalls(host, summary));
            if (found is null || found.Count == 0)
            {
                continue;
            }

            Rewrite(host.Method, host.User, () => RouteSpawnCalls(host.Method.Body, found, wrappers, sites));
            summary.SpawnSites += found.Count;
        }
    }

    private List<(Instruction Call, SiteRow Row)> FindSpawnCalls(SpawnHost host, WeaveSummary summary)
    {
        var describer = new SiteDescriber(host.Method, host.User, "");
        var found = new List<(Instruction Call, SiteRow Row)>();
        foreach (Instruction instruction in host.Method.Body.Instructions)
        {
            if (ClassifySpawn(instruction) is not { } api)
            {
                continue;
            }

            if (instruction.Previous is { OpCode.OpCodeType: OpCodeType.Prefix } prefix)
            {
                summary.Skipped++;
                Warn(Codes.SpawnSkipped,
                    $"the spawn call at IL_{instruction.Offset:x4} in {describer.DisplayName} carries an IL prefix ({prefix.OpCode.Name}) and was not woven; " +
                    $"work it starts will not record where it was started. [DoNotTrack] on the method, or NoWarn {Codes.SpawnSkipped}, silences this.",
                    describer.Locate(instruction, null));
                continue;
            }

            var callee = (MethodReference)instruction.Operand;
            found.Add((instruction, describer.Spawn(instruction, SpawnTarget(describer.Stack, instruction, callee, api), SpawnOverload(callee, api))));
        }

        return found;
    }

    private static void RouteSpawnCalls(MethodBody body, List<(Instruction Call, SiteRow Row)> found, SpawnWrappers wrappers, SiteTable sites)
    {
        body.SimplifyMacros();
        foreach ((Instruction call, SiteRow row) in found)
        {
            // Stack-neutral: the wrapper takes the original arguments (and receiver) plus the site id pushed here.
            MethodReference wrapper = wrappers.For(call);
            IlEditing.InsertBefore(body, call, sites.Add(row));
            call.OpCode = OpCodes.Call;
            call.Operand = wrapper;
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
    private static string SpawnTarget(IlStack stack, Instruction call, MethodReference callee, SpawnApi api)
    {
        switch (api)
        {
            case SpawnApi.Run:
                return "Task.Run";
            case SpawnApi.NewTask:
                return "new " + CSharpNames.Type(callee.DeclaringType);
            default:
                Instruction? receiver = stack.FindProducer(call, 0);
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
}
