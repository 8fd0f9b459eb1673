using System.Collections.Generic;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

/// <summary>
/// The one stack analysis of the weaver: which instruction pushed each value a call consumes, and where control comes
/// from. Producers come from a forward pass over all paths: a value is known where every path agrees on its
/// producer and unknown where they disagree, so joins are understood (the compiler's cached-lambda pattern
/// <c>ldsfld; dup; brtrue L; pop; …; L:</c> between <c>Task.Factory</c> and <c>StartNew</c>) and never guessed. A body
/// whose stack effect is not known statically (<c>calli</c>) falls back to a straight-line backwards walk that gives up
/// at joins. Either way the weaver then falls back to a less precise description, never to a wrong one.
/// </summary>
internal sealed class IlStack
{
    private readonly HashSet<Instruction> _joins = new();
    private readonly Dictionary<Instruction, List<Instruction>> _sources = new();
    private readonly Dictionary<Instruction, Instruction?[]>? _before;

    internal IlStack(MethodBody body)
    {
        foreach (Instruction instruction in body.Instructions)
        {
            switch (instruction.Operand)
            {
                case Instruction target:
                    AddBranch(instruction, target);
                    break;
                case Instruction[] targets:
                    foreach (Instruction target in targets)
                    {
                        AddBranch(instruction, target);
                    }

                    break;
            }
        }

        foreach (ExceptionHandler handler in body.ExceptionHandlers)
        {
            _joins.Add(handler.HandlerStart);
            if (handler.FilterStart is not null)
            {
                _joins.Add(handler.FilterStart);
            }
        }

        _before = Analyse(body);
    }

    /// <summary>Where control can come from when it reaches <paramref name="instruction"/>: the instruction before it when that falls through, and every branch here.</summary>
    internal IEnumerable<Instruction> Predecessors(Instruction instruction)
    {
        Instruction? previous = instruction.Previous;
        if (previous is not null && !EndsFlow(previous))
        {
            yield return previous;
        }

        if (_sources.TryGetValue(instruction, out List<Instruction>? sources))
        {
            foreach (Instruction source in sources)
            {
                yield return source;
            }
        }
    }

    private void AddBranch(Instruction source, Instruction target)
    {
        _joins.Add(target);
        if (!_sources.TryGetValue(target, out List<Instruction>? sources))
        {
            _sources[target] = sources = new List<Instruction>();
        }

        sources.Add(source);
    }

    /// <summary>The instruction that pushed argument <paramref name="argument"/> of <paramref name="consumer"/> (0 = first pushed, the receiver of an instance call).</summary>
    internal Instruction? FindProducer(Instruction consumer, int argument)
    {
        int? pops = Pops(consumer);
        if (pops is null || argument >= pops)
        {
            return null;
        }

        if (_before is not null)
        {
            return _before.TryGetValue(consumer, out Instruction?[]? stack) && pops <= stack.Length
                ? stack[stack.Length - pops.Value + argument]
                : null;
        }

        return WalkBack(consumer, pops.Value - 1 - argument);
    }

    /// <summary>Straight-line fallback: gives up at the first join or jump.</summary>
    private Instruction? WalkBack(Instruction consumer, int depth)
    {
        for (Instruction current = consumer; ;)
        {
            if (_joins.Contains(current))
            {
                return null;
            }

            Instruction? previous = current.Previous;
            if (previous is null || EndsFlow(previous))
            {
                return null;
            }

            int? pushes = Pushes(previous);
            int? popped = Pops(previous);
            if (pushes is null || popped is null)
            {
                return null;
            }

            if (depth < pushes)
            {
                if (previous.OpCode.Code == Code.Dup)
                {
                    depth = 0;
                    current = previous;
                    continue;
                }

                return pushes == 1 ? previous : null;
            }

            depth = depth - pushes.Value + popped.Value;
            current = previous;
        }
    }

    /// <summary>
    /// Whether control that reaches <paramref name="from"/> always falls through to <paramref name="to"/>, and nothing
    /// else enters the code in between: a value stored at <paramref name="from"/> is then the one seen at <paramref name="to"/>.
    /// </summary>
    internal bool IsStraight(Instruction from, Instruction to)
    {
        for (Instruction current = from; current != to;)
        {
            if (EndsFlow(current) || current.Next is null)
            {
                return false;
            }

            current = current.Next;
            if (_joins.Contains(current))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The producers on the stack before each reachable instruction; null when a stack effect is not known statically.</summary>
    private static Dictionary<Instruction, Instruction?[]>? Analyse(MethodBody body)
    {
        var before = new Dictionary<Instruction, Instruction?[]>();
        var work = new Stack<Instruction>();

        void Merge(Instruction target, Instruction?[] stack)
        {
            if (!before.TryGetValue(target, out Instruction?[]? known))
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
            return before;
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

            int? pops = Pops(instruction);
            int? pushes = Pushes(instruction);
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

        return before;
    }

    private static bool EndsFlow(Instruction instruction) =>
        instruction.OpCode.FlowControl is FlowControl.Branch or FlowControl.Return or FlowControl.Throw ||
        instruction.OpCode.Code is Code.Leave or Code.Leave_S or Code.Endfinally or Code.Endfilter or Code.Switch;

    internal static int? Pops(Instruction instruction)
    {
        OpCode op = instruction.OpCode;
        switch (op.StackBehaviourPop)
        {
            case StackBehaviour.Pop0: return 0;
            case StackBehaviour.Pop1:
            case StackBehaviour.Popi:
            case StackBehaviour.Popref: return 1;
            case StackBehaviour.Pop1_pop1:
            case StackBehaviour.Popi_pop1:
            case StackBehaviour.Popi_popi:
            case StackBehaviour.Popi_popi8:
            case StackBehaviour.Popi_popr4:
            case StackBehaviour.Popi_popr8:
            case StackBehaviour.Popref_pop1:
            case StackBehaviour.Popref_popi: return 2;
            case StackBehaviour.Popi_popi_popi:
            case StackBehaviour.Popref_popi_popi:
            case StackBehaviour.Popref_popi_popi8:
            case StackBehaviour.Popref_popi_popr4:
            case StackBehaviour.Popref_popi_popr8:
            case StackBehaviour.Popref_popi_popref: return 3;
            case StackBehaviour.Varpop:
                if (op.Code == Code.Ret)
                {
                    return null;
                }

                if (instruction.Operand is MethodReference method && op.Code != Code.Calli)
                {
                    return method.Parameters.Count + (method.HasThis && op.Code != Code.Newobj ? 1 : 0);
                }

                return null;
            default: return null;
        }
    }

    internal static int? Pushes(Instruction instruction)
    {
        OpCode op = instruction.OpCode;
        switch (op.StackBehaviourPush)
        {
            case StackBehaviour.Push0: return 0;
            case StackBehaviour.Push1:
            case StackBehaviour.Pushi:
            case StackBehaviour.Pushi8:
            case StackBehaviour.Pushr4:
            case StackBehaviour.Pushr8:
            case StackBehaviour.Pushref: return 1;
            case StackBehaviour.Push1_push1: return 2;
            case StackBehaviour.Varpush:
                if (instruction.Operand is MethodReference method && op.Code != Code.Calli)
                {
                    return op.Code == Code.Newobj || method.ReturnType.MetadataType != MetadataType.Void ? 1 : 0;
                }

                return null;
            default: return null;
        }
    }
}
