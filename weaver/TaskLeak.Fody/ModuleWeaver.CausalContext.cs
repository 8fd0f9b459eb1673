using System.Collections.Generic;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

public partial class ModuleWeaver
{
    /// <summary>
    /// Makes a resumed tracked operation the thread's current one while its MoveNext runs (the causal parent of
    /// operations that first suspend meanwhile): <c>context = operation != 0 ? EnterMoveNext(operation) : -1</c> at
    /// entry, <c>if (context &gt;= 0) ExitMoveNext(context)</c> before every <c>ret</c>.
    /// </summary>
    /// <remarks>
    /// The tests are woven inline and the hooks are never inlined, so a first run (which may complete synchronously)
    /// pays a load, a store and two branches, and MoveNext's own frame does not grow. Restoring is idempotent, so it
    /// is also done before each completion: the builder runs the awaiters' continuations inline from
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
            IlEditing.InsertBefore(body, exit, Restore(exit));
        }

        foreach (Instruction completion in completions)
        {
            IlEditing.InsertBefore(body, completion, Restore(completion));
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

        // EnterMoveNext returns the previous operation (>= 0); -1 means nothing was entered.
        Instruction[] Restore(Instruction next) => new[]
        {
            Instruction.Create(OpCodes.Ldloc, context),
            Instruction.Create(OpCodes.Ldc_I4_0),
            Instruction.Create(OpCodes.Blt, next),
            Instruction.Create(OpCodes.Ldloc, context),
            Instruction.Create(OpCodes.Call, hooks.ExitMoveNext),
        };
    }
}
