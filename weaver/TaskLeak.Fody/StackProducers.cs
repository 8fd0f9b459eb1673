using System.Collections.Generic;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

/// <summary>
/// Which instruction pushed each value on the evaluation stack, for every instruction of a method: a forward pass
/// over all paths, so joins are understood (a value is known where every path agrees on its producer, unknown where
/// they disagree). Unlike <see cref="IlStack"/>'s straight-line walk, this sees through the compiler's cached-lambda
/// pattern (<c>ldsfld; dup; brtrue L; pop; …; L:</c>) that sits between <c>Task.Factory</c> and <c>StartNew</c>.
/// </summary>
internal sealed class StackProducers
{
    private readonly Dictionary<Instruction, Instruction?[]> _before;

    private StackProducers(Dictionary<Instruction, Instruction?[]> before) => _before = before;

    /// <summary>Null when the body holds an instruction whose stack effect is not known statically (calli).</summary>
    internal static StackProducers? Analyse(MethodBody body)
    {
        var before = new Dictionary<Instruction, Instruction?[]>();
        var work = new Stack<Instruction>();

        void Merge(Instruction target, Instruction?[] stack)
        {
            if (!before.TryGetValue(target, out Instruction?[] known))
            {
                before[target] = stack;
                work.Push(target);
                return;
            }

            bool changed = false;
            for (int i = 0; i < known.Length && i < stack.Length; i++)
            {
                if (known[i] is not null && known[i] != stack[i])
                {
                    known[i] = null;
                    changed = true;
                }
            }

            if (changed)
            {
                work.Push(target);
            }
        }

        if (body.Instructions.Count == 0)
        {
            return new StackProducers(before);
        }

        Merge(body.Instructions[0], new Instruction?[0]);
        foreach (ExceptionHandler handler in body.ExceptionHandlers)
        {
            bool receivesException = handler.HandlerType is ExceptionHandlerType.Catch or ExceptionHandlerType.Filter;
            Merge(handler.HandlerStart, receivesException ? new Instruction?[1] : new Instruction?[0]);
            if (handler.FilterStart is not null)
            {
                Merge(handler.FilterStart, new Instruction?[1]);
            }
        }

        while (work.Count > 0)
        {
            Instruction instruction = work.Pop();
            Instruction?[] stack = before[instruction];
            OpCode op = instruction.OpCode;
            if (op.FlowControl is FlowControl.Return or FlowControl.Throw || op.Code is Code.Endfinally or Code.Endfilter)
            {
                continue;
            }

            if (op.Code is Code.Leave or Code.Leave_S)
            {
                Merge((Instruction)instruction.Operand, new Instruction?[0]);
                continue;
            }

            int? pops = IlStack.Pops(instruction);
            int? pushes = IlStack.Pushes(instruction);
            if (pops is null || pushes is null || pops > stack.Length || pushes > 2)
            {
                return null;
            }

            var after = new List<Instruction?>(stack);
            after.RemoveRange(stack.Length - pops.Value, pops.Value);
            if (op.Code == Code.Dup)
            {
                after.Add(stack[stack.Length - 1]);
                after.Add(stack[stack.Length - 1]);
            }
            else
            {
                for (int i = 0; i < pushes; i++)
                {
                    after.Add(pushes == 1 ? instruction : null);
                }
            }

            Instruction?[] next = after.ToArray();
            switch (instruction.Operand)
            {
                case Instruction target when op.FlowControl is FlowControl.Branch or FlowControl.Cond_Branch:
                    Merge(target, (Instruction?[])next.Clone());
                    break;
                case Instruction[] targets:
                    foreach (Instruction target in targets)
                    {
                        Merge(target, (Instruction?[])next.Clone());
                    }

                    break;
            }

            if (op.FlowControl != FlowControl.Branch && instruction.Next is not null)
            {
                Merge(instruction.Next, next);
            }
        }

        return new StackProducers(before);
    }

    /// <summary>The instruction that pushed argument <paramref name="argument"/> of <paramref name="consumer"/> (0 = the receiver of an instance call).</summary>
    internal Instruction? Producer(Instruction consumer, int argument)
    {
        int? pops = IlStack.Pops(consumer);
        if (!_before.TryGetValue(consumer, out Instruction?[] stack) || pops is null || argument >= pops || pops > stack.Length)
        {
            return null;
        }

        return stack[stack.Length - pops.Value + argument];
    }
}
