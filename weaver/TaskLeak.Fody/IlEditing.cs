using System.Collections.Generic;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

/// <summary>Inserting stack-neutral code before or after an instruction without moving control flow around it.</summary>
internal static class IlEditing
{
    /// <summary>
    /// Inserts <paramref name="code"/> before <paramref name="target"/>. Branches and handler boundaries that pointed at
    /// the target now point at the inserted code, so it runs on every path that reached the target and belongs to
    /// the same protected region.
    /// </summary>
    internal static void InsertBefore(MethodBody body, Instruction target, IReadOnlyList<Instruction> code)
    {
        if (code.Count == 0)
        {
            return;
        }

        ILProcessor il = body.GetILProcessor();
        foreach (Instruction instruction in code)
        {
            il.InsertBefore(target, instruction);
        }

        Instruction first = code[0];
        var inserted = new HashSet<Instruction>(code);
        foreach (Instruction instruction in body.Instructions)
        {
            if (inserted.Contains(instruction))
            {
                continue;
            }

            if (instruction.Operand == target)
            {
                instruction.Operand = first;
            }
            else if (instruction.Operand is Instruction[] targets)
            {
                for (int i = 0; i < targets.Length; i++)
                {
                    if (targets[i] == target)
                    {
                        targets[i] = first;
                    }
                }
            }
        }

        foreach (ExceptionHandler handler in body.ExceptionHandlers)
        {
            if (handler.TryStart == target) handler.TryStart = first;
            if (handler.TryEnd == target) handler.TryEnd = first;
            if (handler.HandlerStart == target) handler.HandlerStart = first;
            if (handler.HandlerEnd == target) handler.HandlerEnd = first;
            if (handler.FilterStart == target) handler.FilterStart = first;
        }
    }

    /// <summary>Inserts <paramref name="code"/> right after <paramref name="anchor"/>, inside the anchor's region.</summary>
    internal static void InsertAfter(MethodBody body, Instruction anchor, IReadOnlyList<Instruction> code)
    {
        ILProcessor il = body.GetILProcessor();
        Instruction previous = anchor;
        foreach (Instruction instruction in code)
        {
            il.InsertAfter(previous, instruction);
            previous = instruction;
        }
    }

    internal static VariableDefinition? LocalOf(MethodBody body, Instruction instruction)
    {
        switch (instruction.OpCode.Code)
        {
            case Code.Ldloc_0: case Code.Stloc_0: return body.Variables[0];
            case Code.Ldloc_1: case Code.Stloc_1: return body.Variables[1];
            case Code.Ldloc_2: case Code.Stloc_2: return body.Variables[2];
            case Code.Ldloc_3: case Code.Stloc_3: return body.Variables[3];
            case Code.Ldloc: case Code.Ldloc_S: case Code.Ldloca: case Code.Ldloca_S:
            case Code.Stloc: case Code.Stloc_S:
                return instruction.Operand as VariableDefinition;
            default: return null;
        }
    }

    internal static bool IsStoreTo(MethodBody body, Instruction instruction, VariableDefinition variable) =>
        instruction.OpCode.Code is Code.Stloc or Code.Stloc_S or Code.Stloc_0 or Code.Stloc_1 or Code.Stloc_2 or Code.Stloc_3 &&
        LocalOf(body, instruction) == variable;

    /// <summary>A reference to a field of <paramref name="owner"/> usable from its own methods (self-instantiated when generic).</summary>
    internal static FieldReference SelfReference(FieldDefinition field, TypeDefinition owner)
    {
        if (!owner.HasGenericParameters)
        {
            return field;
        }

        var self = new GenericInstanceType(owner);
        foreach (GenericParameter parameter in owner.GenericParameters)
        {
            self.GenericArguments.Add(parameter);
        }

        return new FieldReference(field.Name, field.FieldType, self);
    }
}
