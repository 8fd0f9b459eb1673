using System.Collections.Generic;
using System.Linq;
using System.Text;
using Mono.Cecil;

namespace TaskLeak.Fody;

/// <summary>Names as a C# developer wrote them: <c>TaskCompletionSource&lt;int&gt;</c>, <c>Ns.Outer.Inner.Method</c>.</summary>
internal static class CSharpNames
{
    private static readonly Dictionary<string, string> s_keywords = new()
    {
        ["System.Boolean"] = "bool", ["System.Byte"] = "byte", ["System.SByte"] = "sbyte", ["System.Char"] = "char",
        ["System.Int16"] = "short", ["System.UInt16"] = "ushort", ["System.Int32"] = "int", ["System.UInt32"] = "uint",
        ["System.Int64"] = "long", ["System.UInt64"] = "ulong", ["System.Single"] = "float", ["System.Double"] = "double",
        ["System.Decimal"] = "decimal", ["System.String"] = "string", ["System.Object"] = "object", ["System.Void"] = "void",
    };

    /// <summary>A type as it reads in code, without namespace.</summary>
    internal static string Type(TypeReference type) => Type(type, withNamespace: false);

    internal static string Type(TypeReference type, bool withNamespace)
    {
        var text = new StringBuilder();
        AppendType(text, type, withNamespace);
        return text.ToString();
    }

    /// <summary><c>Namespace.Type.Method</c> for an async method; lambdas and local functions take their containing method's name.</summary>
    internal static string Method(MethodDefinition method, out string detail)
    {
        detail = "";
        TypeDefinition type = method.DeclaringType;
        while (IsCompilerGenerated(type) && type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        string name = method.Name;
        if (name.StartsWith("<", System.StringComparison.Ordinal))
        {
            int close = name.IndexOf('>');
            string containing = close > 1 ? name.Substring(1, close - 1) : "";
            string kind = close >= 0 && close + 3 <= name.Length ? name.Substring(close + 1, 2) : "";
            if (kind == "g_")
            {
                int start = close + 4;
                int bar = name.IndexOf('|', start);
                detail = "local function " + (bar > start ? name.Substring(start, bar - start) : name.Substring(start));
            }
            else
            {
                detail = "lambda";
            }

            name = containing.Length > 0 ? containing : name;
        }
        else if (method.HasGenericParameters)
        {
            name += "<" + string.Join(", ", method.GenericParameters.Select(p => p.Name)) + ">";
        }

        return Type(type, withNamespace: true) + "." + name;
    }

    internal static bool IsCompilerGenerated(TypeReference type) => type.Name.StartsWith("<", System.StringComparison.Ordinal);

    /// <summary><c>x</c> for a hoisted local or parameter field (<c>&lt;x&gt;5__2</c>, <c>x</c>), <c>this</c> for <c>&lt;&gt;4__this</c>.</summary>
    internal static string HoistedName(string fieldName)
    {
        if (fieldName == "<>4__this")
        {
            return "this";
        }

        if (fieldName.StartsWith("<", System.StringComparison.Ordinal))
        {
            int close = fieldName.IndexOf('>');
            return close > 1 ? fieldName.Substring(1, close - 1) : fieldName;
        }

        return fieldName;
    }

    private static void AppendType(StringBuilder text, TypeReference type, bool withNamespace)
    {
        switch (type)
        {
            case ByReferenceType byRef:
                AppendType(text, byRef.ElementType, withNamespace);
                return;
            case ArrayType array:
                AppendType(text, array.ElementType, withNamespace);
                text.Append('[').Append(',', array.Rank - 1).Append(']');
                return;
            case GenericParameter parameter:
                text.Append(parameter.Name);
                return;
            case GenericInstanceType instance:
                AppendNamed(text, instance.ElementType, instance.GenericArguments, withNamespace);
                return;
        }

        if (s_keywords.TryGetValue(type.FullName, out string? keyword))
        {
            text.Append(keyword);
            return;
        }

        IList<TypeReference> ownParameters = type.HasGenericParameters ? type.GenericParameters.Cast<TypeReference>().ToList() : new List<TypeReference>();
        AppendNamed(text, type, ownParameters, withNamespace);
    }

    private static void AppendNamed(StringBuilder text, TypeReference type, IList<TypeReference> arguments, bool withNamespace)
    {
        if (type.FullName == "System.Nullable`1" && arguments.Count == 1)
        {
            AppendType(text, arguments[0], withNamespace);
            text.Append('?');
            return;
        }

        // Nested generic types carry all arguments on the innermost type; each level takes its own arity.
        var chain = new List<TypeReference>();
        for (TypeReference? current = type; current is not null; current = current.DeclaringType)
        {
            chain.Insert(0, current);
        }

        int used = 0;
        for (int i = 0; i < chain.Count; i++)
        {
            TypeReference level = chain[i];
            if (i == 0 && withNamespace && level.Namespace.Length > 0)
            {
                text.Append(level.Namespace).Append('.');
            }
            else if (i > 0)
            {
                text.Append('.');
            }

            string name = level.Name;
            int tick = name.IndexOf('`');
            int arity = tick >= 0 && int.TryParse(name.Substring(tick + 1), out int n) ? n : 0;
            text.Append(tick >= 0 ? name.Substring(0, tick) : name);
            if (arity > 0)
            {
                text.Append('<');
                for (int a = 0; a < arity; a++)
                {
                    if (a > 0)
                    {
                        text.Append(", ");
                    }

                    if (used < arguments.Count)
                    {
                        AppendType(text, arguments[used++], withNamespace);
                    }
                }

                text.Append('>');
            }
        }
    }
}
