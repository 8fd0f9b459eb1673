using System.Linq;
using Fody;
using Mono.Cecil;

namespace TaskLeak.Fody;

/// <summary>The runtime hooks and types that woven code calls, imported into the module being woven.</summary>
internal sealed class HookReferences
{
    internal const string HooksTypeName = "TaskLeak.CompilerServices.TaskLeakHooks";

    private readonly ModuleWeaver _weaver;
    private readonly TypeDefinition _hooks;

    internal HookReferences(ModuleWeaver weaver)
    {
        _weaver = weaver;
        if (!weaver.TryFindTypeDefinition(HooksTypeName, out TypeDefinition? hooks) || hooks is null)
        {
            throw new WeavingException(
                "TaskLeak: the TaskLeak runtime assembly (TaskLeak.dll) is not referenced, so woven code would have nothing to call. " +
                "Reference the TaskLeak.Fody package (it brings the runtime) without PrivateAssets=\"All\".");
        }

        _hooks = hooks;
        Int32 = weaver.ModuleDefinition.TypeSystem.Int32;
        Object = weaver.ModuleDefinition.TypeSystem.Object;
        String = weaver.ModuleDefinition.TypeSystem.String;
        RegisterSites = Import("RegisterSites");
        Suspend = Import("Suspend");
        Attach = Import("Attach");
        SuspendFrame = Import("SuspendFrame");
        SuspendWithToken = Import("SuspendWithToken");
        Complete = Import("Complete");
        EnterOperation = Import("EnterOperation");
    }

    internal TypeReference Int32 { get; }
    internal TypeReference Object { get; }
    internal TypeReference String { get; }

    internal MethodReference RegisterSites { get; }
    internal MethodReference Suspend { get; }
    internal MethodReference Attach { get; }
    internal MethodReference SuspendFrame { get; }
    internal MethodReference SuspendWithToken { get; }
    internal MethodReference Complete { get; }
    internal MethodReference EnterOperation { get; }

    internal MethodReference Import(string name, int parameterCount = -1)
    {
        MethodDefinition method = _hooks.Methods.FirstOrDefault(m => m.Name == name && (parameterCount < 0 || m.Parameters.Count == parameterCount))
            ?? throw new WeavingException(
                $"TaskLeak: the referenced TaskLeak runtime has no hook '{name}'; the TaskLeak.dll and TaskLeak.Fody.dll versions do not match.");
        return _weaver.ModuleDefinition.ImportReference(method);
    }

    internal MethodReference ImportTypeMethod(string typeName, string methodName)
    {
        if (!_weaver.TryFindTypeDefinition(typeName, out TypeDefinition? type) || type is null)
        {
            throw new WeavingException($"TaskLeak: cannot find {typeName} in the TaskLeak runtime.");
        }

        return _weaver.ModuleDefinition.ImportReference(type.Methods.First(m => m.Name == methodName));
    }
}
