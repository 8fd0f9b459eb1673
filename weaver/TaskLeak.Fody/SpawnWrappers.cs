using System.Collections.Generic;
using System.Linq;
using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;

namespace TaskLeak.Fody;

/// <summary>
/// One generated wrapper per spawn API overload the module calls, in the internal type <c>&lt;TaskLeak&gt;Spawn</c>:
/// <code>
/// static Task Run(Action action, int site)
/// {
///     object previous = TaskLeakHooks.EnterSpawn(site);
///     try { return Task.Run(action); } finally { TaskLeakHooks.ExitSpawn(previous); }
/// }
/// </code>
/// A wrapper is generic over the declaring type's and the method's type arguments, so one wrapper serves every
/// instantiation (<c>Task.Run&lt;int&gt;</c>, <c>Task.Run&lt;T&gt;</c> in a generic method, <c>TaskFactory&lt;T&gt;.StartNew</c>).
/// Call sites stay stack-neutral: the receiver and arguments are already on the stack, the site id goes on top.
/// </summary>
internal sealed class SpawnWrappers
{
    private readonly ModuleWeaver _weaver;
    private readonly HookReferences _hooks;
    private readonly Dictionary<string, MethodDefinition> _wrappers = new();
    private TypeDefinition? _type;
    private MethodReference? _enter;
    private MethodReference? _exit;

    internal SpawnWrappers(ModuleWeaver weaver, HookReferences hooks)
    {
        _weaver = weaver;
        _hooks = hooks;
    }

    /// <summary>The wrapper to call instead of <paramref name="call"/>'s operand, instantiated like the original.</summary>
    internal MethodReference For(Instruction call)
    {
        var callee = (MethodReference)call.Operand;
        MethodReference element = callee is GenericInstanceMethod generic ? generic.ElementMethod : callee;
        IList<TypeReference> typeArguments = element.DeclaringType is GenericInstanceType instance
            ? instance.GenericArguments
            : new List<TypeReference>();
        IList<TypeReference> methodArguments = callee is GenericInstanceMethod g ? g.GenericArguments : new List<TypeReference>();
        bool constructor = call.OpCode.Code == Code.Newobj;

        string key = (constructor ? "newobj " : "call ") + element.DeclaringType.GetElementType().FullName + "::" + element.Name +
                     "`" + methodArguments.Count + "(" + string.Join(",", element.Parameters.Select(p => p.ParameterType.FullName)) + ")";
        if (!_wrappers.TryGetValue(key, out MethodDefinition wrapper))
        {
            wrapper = Create(element, typeArguments.Count, methodArguments.Count, constructor);
            _wrappers.Add(key, wrapper);
        }

        if (!wrapper.HasGenericParameters)
        {
            return wrapper;
        }

        var instantiated = new GenericInstanceMethod(wrapper);
        foreach (TypeReference argument in typeArguments.Concat(methodArguments))
        {
            instantiated.GenericArguments.Add(argument);
        }

        return instantiated;
    }

    private MethodDefinition Create(MethodReference element, int typeArity, int methodArity, bool constructor)
    {
        ModuleDefinition module = _weaver.ModuleDefinition;
        TypeDefinition type = SpawnType();
        string name = constructor ? "New" + element.DeclaringType.GetElementType().Name.Replace("`1", "OfT") : element.Name;
        var wrapper = new MethodDefinition(name,
            MethodAttributes.Assembly | MethodAttributes.Static | MethodAttributes.HideBySig, module.TypeSystem.Void)
        {
            AggressiveInlining = true,
        };
        for (int i = 0; i < typeArity; i++)
        {
            wrapper.GenericParameters.Add(new GenericParameter("T" + i, wrapper));
        }

        for (int i = 0; i < methodArity; i++)
        {
            wrapper.GenericParameters.Add(new GenericParameter("TMethod" + i, wrapper));
        }

        TypeReference Map(TypeReference t) => Substitute(t, wrapper, typeArity);

        // The declaring type as the wrapper sees it: TaskFactory<T0> for TaskFactory<int>, Task for Task.
        TypeReference owner = element.DeclaringType.GetElementType();
        if (typeArity > 0)
        {
            var self = new GenericInstanceType(owner);
            for (int i = 0; i < typeArity; i++)
            {
                self.GenericArguments.Add(wrapper.GenericParameters[i]);
            }

            owner = self;
        }

        if (element.HasThis && !constructor)
        {
            wrapper.Parameters.Add(new ParameterDefinition("factory", ParameterAttributes.None, owner));
        }

        MethodDefinition? documented = TryResolve(element);
        for (int i = 0; i < element.Parameters.Count; i++)
        {
            string parameterName = documented?.Parameters.Count == element.Parameters.Count ? documented.Parameters[i].Name : "arg" + i;
            wrapper.Parameters.Add(new ParameterDefinition(parameterName, ParameterAttributes.None, Map(element.Parameters[i].ParameterType)));
        }

        var site = new ParameterDefinition("site", ParameterAttributes.None, _hooks.Int32);
        wrapper.Parameters.Add(site);
        wrapper.ReturnType = constructor ? owner : Map(element.ReturnType);

        // The original member on the wrapper's own instantiation of the declaring type; its signature stays open (!0, !!0).
        var target = new MethodReference(element.Name, element.ReturnType, owner)
        {
            HasThis = element.HasThis,
            ExplicitThis = element.ExplicitThis,
            CallingConvention = element.CallingConvention,
        };
        foreach (GenericParameter parameter in element.GenericParameters)
        {
            target.GenericParameters.Add(new GenericParameter(parameter.Name, target));
        }

        foreach (ParameterDefinition parameter in element.Parameters)
        {
            target.Parameters.Add(new ParameterDefinition(parameter.ParameterType));
        }

        MethodReference invoked = target;
        if (methodArity > 0)
        {
            var instance = new GenericInstanceMethod(target);
            for (int i = 0; i < methodArity; i++)
            {
                instance.GenericArguments.Add(wrapper.GenericParameters[typeArity + i]);
            }

            invoked = instance;
        }

        EmitBody(wrapper, site, invoked, constructor);
        type.Methods.Add(wrapper);
        return wrapper;
    }

    // EnterSpawn; try { result = spawn(args); leave } finally { ExitSpawn(previous) } return result.
    private void EmitBody(MethodDefinition wrapper, ParameterDefinition site, MethodReference invoked, bool constructor)
    {
        MethodBody body = wrapper.Body;
        body.InitLocals = true;
        var previous = new VariableDefinition(_hooks.Object);
        var result = new VariableDefinition(wrapper.ReturnType);
        body.Variables.Add(previous);
        body.Variables.Add(result);
        ILProcessor il = body.GetILProcessor();
        _enter ??= _hooks.Import("EnterSpawn");
        _exit ??= _hooks.Import("ExitSpawn");

        il.Emit(OpCodes.Ldarg, site);
        il.Emit(OpCodes.Call, _enter);
        il.Emit(OpCodes.Stloc, previous);
        Instruction tryStart = Instruction.Create(OpCodes.Ldarg, wrapper.Parameters[0]);
        il.Append(tryStart);
        for (int i = 1; i < wrapper.Parameters.Count - 1; i++)
        {
            il.Emit(OpCodes.Ldarg, wrapper.Parameters[i]);
        }

        il.Emit(constructor ? OpCodes.Newobj : invoked.HasThis ? OpCodes.Callvirt : OpCodes.Call, invoked);
        il.Emit(OpCodes.Stloc, result);
        Instruction exit = Instruction.Create(OpCodes.Ldloc, result);
        il.Emit(OpCodes.Leave, exit);
        Instruction handlerStart = Instruction.Create(OpCodes.Ldloc, previous);
        il.Append(handlerStart);
        il.Emit(OpCodes.Call, _exit);
        il.Emit(OpCodes.Endfinally);
        il.Append(exit);
        il.Emit(OpCodes.Ret);
        body.ExceptionHandlers.Add(new ExceptionHandler(ExceptionHandlerType.Finally)
        {
            TryStart = tryStart,
            TryEnd = handlerStart,
            HandlerStart = handlerStart,
            HandlerEnd = exit,
        });
        body.OptimizeMacros();
    }

    private static MethodDefinition? TryResolve(MethodReference method)
    {
        try
        {
            return method.Resolve();
        }
        catch (AssemblyResolutionException)
        {
            return null;
        }
    }

    private TypeDefinition SpawnType()
    {
        if (_type is not null)
        {
            return _type;
        }

        ModuleDefinition module = _weaver.ModuleDefinition;
        _type = new TypeDefinition("", ModuleWeaver.SpawnTypeName,
            TypeAttributes.NotPublic | TypeAttributes.Abstract | TypeAttributes.Sealed | TypeAttributes.BeforeFieldInit | TypeAttributes.Class,
            module.TypeSystem.Object);
        module.Types.Add(_type);
        return _type;
    }

    /// <summary>Rewrites the callee's open signature (<c>!0</c>, <c>!!0</c>) in terms of the wrapper's own type parameters.</summary>
    private static TypeReference Substitute(TypeReference type, MethodDefinition wrapper, int typeArity)
    {
        switch (type)
        {
            case GenericParameter parameter:
                return parameter.Type == GenericParameterType.Type
                    ? wrapper.GenericParameters[parameter.Position]
                    : wrapper.GenericParameters[typeArity + parameter.Position];
            case GenericInstanceType instance:
            {
                var copy = new GenericInstanceType(instance.ElementType);
                foreach (TypeReference argument in instance.GenericArguments)
                {
                    copy.GenericArguments.Add(Substitute(argument, wrapper, typeArity));
                }

                return copy;
            }

            case ArrayType array:
                return new ArrayType(Substitute(array.ElementType, wrapper, typeArity), array.Rank);
            case ByReferenceType byRef:
                return new ByReferenceType(Substitute(byRef.ElementType, wrapper, typeArity));
            case RequiredModifierType required:
                return new RequiredModifierType(required.ModifierType, Substitute(required.ElementType, wrapper, typeArity));
            case OptionalModifierType optional:
                return new OptionalModifierType(optional.ModifierType, Substitute(optional.ElementType, wrapper, typeArity));
            default:
                return type;
        }
    }
}
