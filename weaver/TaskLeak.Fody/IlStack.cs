using System.Collections.Generic;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

/// <summary>
/// Finds which instruction pushed a given argument of a call, by walking back through straight-line code.
/// Gives up (returns null) at joins and jumps: the weaver then falls back to a less precise description,
/// never to a wrong one.
/// </summary>
internal sealed class IlStack
{
    private readonly HashSet<Instruction> _joins = new();
    private readonly Dictionary<Instruction, List<Instruction>> _sources = new();

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

    /// <summary>The instruction that pushed argument <paramref name="argument"/> (0 = first pushed, the receiver of an instance call).</summary>
    internal Instruction? FindProducer(Instruction consumer, int argument)
    {
        int? pops = Pops(consumer);
        if (pops is null || argument >= pops)
        {
            return null;
        }

        int depth = pops.Value - 1 - argument;
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
