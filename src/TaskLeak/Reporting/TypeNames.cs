using System;
using System.Collections.Generic;
using System.Text;

namespace TaskLeak.Reporting;

/// <summary>Type names as C# writes them: <c>Task&lt;int&gt;</c>, <c>Outer.Inner</c>.</summary>
internal static class TypeNames
{
    private static readonly Dictionary<Type, string> s_keywords = new()
    {
        [typeof(bool)] = "bool", [typeof(byte)] = "byte", [typeof(sbyte)] = "sbyte", [typeof(char)] = "char",
        [typeof(short)] = "short", [typeof(ushort)] = "ushort", [typeof(int)] = "int", [typeof(uint)] = "uint",
        [typeof(long)] = "long", [typeof(ulong)] = "ulong", [typeof(float)] = "float", [typeof(double)] = "double",
        [typeof(decimal)] = "decimal", [typeof(string)] = "string", [typeof(object)] = "object", [typeof(void)] = "void",
    };

    internal static string Format(Type type)
    {
        var builder = new StringBuilder();
        Append(builder, type);
        return builder.ToString();
    }

    private static void Append(StringBuilder builder, Type type)
    {
        if (s_keywords.TryGetValue(type, out string? keyword))
        {
            builder.Append(keyword);
            return;
        }

        if (type.IsArray)
        {
            Append(builder, type.GetElementType()!);
            builder.Append('[').Append(',', type.GetArrayRank() - 1).Append(']');
            return;
        }

        if (type.IsNested && !type.IsGenericParameter)
        {
            Append(builder, type.DeclaringType!);
            builder.Append('.');
        }

        string name = type.Name;
        int tick = name.IndexOf('`');
        builder.Append(tick >= 0 ? name.Substring(0, tick) : name);
        if (!type.IsGenericType)
        {
            return;
        }

        Type[] arguments = type.GetGenericArguments();
        int own = tick >= 0 ? int.Parse(name.Substring(tick + 1), System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (own == 0)
        {
            return;
        }

        builder.Append('<');
        for (int i = arguments.Length - own; i < arguments.Length; i++)
        {
            if (i > arguments.Length - own)
            {
                builder.Append(", ");
            }

            Append(builder, arguments[i]);
        }

        builder.Append('>');
    }
}
