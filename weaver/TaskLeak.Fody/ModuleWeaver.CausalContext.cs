using System.Collections.Generic;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

public partial class ModuleWeaver
{
    /// <summary>
    /// Makes a resumed tracked operation the thread's current one while its MoveNext runs (the causal parent of
    /// operations that first suspend meanwhile): <c>context = EnterMoveNext(this.&lt;&gt;tl__operation)</c> at entry,
    /// <c>ExitMoveNext(context)</c> before every <c>ret</c>.
    /// </summary>
    /// <remarks>
    /// Restoring is idempotent, so it is also done before each completion: the builder runs the awaiters'
    /// continuations inline from SetResult/SetException (and an async iterator's consumer from a yield's SetResult),
    /// and the operation that just completed must not be their parent. Exceptions do not leave a compiler-generated
    /// MoveNext (its catch hands them to the builder), so the rets are every exit. The entry code is inserted without
    /// retargeting branches: a jump back to the first instruction must not enter twice.
    /// </remarks>
    private static void WeaveCausalContext(MethodBody body, HookReferences hooks, FieldReference operation, VariableDefinition context,
        IEnumerable<Instruction> completions, IEnumerable<Instruction> exits)
    {
        foreach (Instruction exit in exits)
        {
            IlEditing.InsertBefore(body, exit, Restore());
        }

        foreach (Instruction completion in completions)
        {
            IlEditing.InsertBefore(body, completion, Restore());
        }

        ILProcessor il = body.GetILProcessor();
        Instruction start = body.Instructions[0];
        il.InsertBefore(start, Instruction.Create(OpCodes.Ldarg_0));
        il.InsertBefore(start, Instruction.Create(OpCodes.Ldfld, operation));
        il.InsertBefore(start, Instruction.Create(OpCodes.Call, hooks.EnterMoveNext));
        il.InsertBefore(start, Instruction.Create(OpCodes.Stloc, context));

        Instruction[] Restore() => new[]
        {
            Instruction.Create(OpCodes.Ldloc, context),
            Instruction.Create(OpCodes.Call, hooks.ExitMoveNext),
        };
    }
}
