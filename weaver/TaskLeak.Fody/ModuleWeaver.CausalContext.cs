using System.Collections.Generic;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

public partial class ModuleWeaver
{
    /// <summary>
    /// Releases the operation at every completion and makes a resumed tracked operation the thread's current one while
    /// its MoveNext runs (the causal parent of operations that first suspend meanwhile):
    /// <c>context = operation != 0 ? EnterMoveNext(operation) : -1</c> at entry,
    /// <c>if ((operation | ~context) != 0) { CompleteMoveNext(ref operation, context); context = -1; }</c> before each
    /// completion and <c>if (context &gt;= 0) ExitMoveNext(context)</c> before every <c>ret</c>.
    /// </summary>
    /// <remarks>
    /// The tests are woven inline and the hooks are never inlined, so a run that never suspended (a synchronous
    /// completion) pays three loads and branches, and MoveNext's own frame does not grow. The context is restored at a
    /// completion, not only at the <c>ret</c>: the builder runs the awaiters' continuations inline from
    /// SetResult/SetException (and an async iterator's consumer from a yield's SetResult), and the operation that
    /// just completed must not be their parent. Exceptions do not leave a compiler-generated MoveNext (its catch
    /// hands them to the builder), so the rets are every exit. The entry code is inserted without retargeting
    /// branches: a jump back to the first instruction must not enter twice.
    /// </remarks>
    private static void WeaveCausalContext(MethodBody body, HookReferences hooks, FieldReference operation, VariableDefinition context,
        IEnumerable<Instruction> completions, IEnumerable<Instruction> exits)
    {
        foreach (Instruction exit in exits)
        {
            // EnterMoveNext returns the previous operation (>= 0); -1 means nothing was entered.
            IlEditing.InsertBefore(body, exit, new[]
            {
                Instruction.Create(OpCodes.Ldloc, context),
                Instruction.Create(OpCodes.Ldc_I4_0),
                Instruction.Create(OpCodes.Blt, exit),
                Instruction.Create(OpCodes.Ldloc, context),
                Instruction.Create(OpCodes.Call, hooks.ExitMoveNext),
            });
        }

        foreach (Instruction completion in completions)
        {
            IlEditing.InsertBefore(body, completion, new[]
            {
                Instruction.Create(OpCodes.Ldarg_0),
                Instruction.Create(OpCodes.Ldfld, operation),
                Instruction.Create(OpCodes.Ldloc, context),
                Instruction.Create(OpCodes.Not),
                Instruction.Create(OpCodes.Or),
                Instruction.Create(OpCodes.Brfalse, completion),
                Instruction.Create(OpCodes.Ldarg_0),
                Instruction.Create(OpCodes.Ldflda, operation),
                Instruction.Create(OpCodes.Ldloc, context),
                Instruction.Create(OpCodes.Call, hooks.CompleteMoveNext),
                Instruction.Create(OpCodes.Ldc_I4_M1),
                Instruction.Create(OpCodes.Stloc, context),
            });
        }

        ILProcessor il = body.GetILProcessor();
        Instruction start = body.Instructions[0];
        foreach (Instruction instruction in new[]
        {
            Instruction.Create(OpCodes.Ldc_I4_M1),
            Instruction.Create(OpCodes.Stloc, context),
            Instruction.Create(OpCodes.Ldarg_0),
            Instruction.Create(OpCodes.Ldfld, operation),
            Instruction.Create(OpCodes.Brfalse, start),
            Instruction.Create(OpCodes.Ldarg_0),
            Instruction.Create(OpCodes.Ldfld, operation),
            Instruction.Create(OpCodes.Call, hooks.EnterMoveNext),
            Instruction.Create(OpCodes.Stloc, context),
        })
        {
            il.InsertBefore(start, instruction);
        }
    }
}
