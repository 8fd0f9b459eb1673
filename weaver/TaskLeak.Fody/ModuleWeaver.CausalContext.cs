using System.Collections.Generic;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

public partial class ModuleWeaver
{
    /// <summary>
    /// Releases the operation at every completion and makes a resumed tracked operation the thread's current one while
    /// its MoveNext runs (the causal parent of operations that first suspend meanwhile):
    /// <c>if (operation != 0) EnterOperation(operation)</c> at entry and
    /// <c>if (operation != 0) Complete(ref operation)</c> before each completion.
    /// </summary>
    /// <remarks>
    /// A run that entered its operation leaves MoveNext only by suspending again or by completing (exceptions do not
    /// leave a compiler-generated MoveNext: its catch hands them to the builder), and the hooks of both restore the
    /// thread's previous operation, so nothing is woven before the <c>ret</c>s and MoveNext needs no local of its own.
    /// The restore at a completion comes before the builder runs the awaiters' continuations inline from
    /// SetResult/SetException (and an async iterator's consumer from a yield's SetResult): the operation that just
    /// completed must not be their parent. A run that never suspends pays two loads and branches. The entry code is
    /// inserted without retargeting branches: a jump back to the first instruction must not enter twice.
    /// </remarks>
    private static void WeaveCausalContext(MethodBody body, HookReferences hooks, FieldReference operation, IEnumerable<Instruction> completions)
    {
        foreach (Instruction completion in completions)
        {
            IlEditing.InsertBefore(body, completion, new[]
            {
                Instruction.Create(OpCodes.Ldarg_0),
                Instruction.Create(OpCodes.Ldfld, operation),
                Instruction.Create(OpCodes.Brfalse, completion),
                Instruction.Create(OpCodes.Ldarg_0),
                Instruction.Create(OpCodes.Ldflda, operation),
                Instruction.Create(OpCodes.Call, hooks.Complete),
            });
        }

        ILProcessor il = body.GetILProcessor();
        Instruction start = body.Instructions[0];
        foreach (Instruction instruction in new[]
        {
            Instruction.Create(OpCodes.Ldarg_0),
            Instruction.Create(OpCodes.Ldfld, operation),
            Instruction.Create(OpCodes.Brfalse, start),
            Instruction.Create(OpCodes.Ldarg_0),
            Instruction.Create(OpCodes.Ldfld, operation),
            Instruction.Create(OpCodes.Call, hooks.EnterOperation),
        })
        {
            il.InsertBefore(start, instruction);
        }
    }
}
