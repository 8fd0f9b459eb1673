using System;
using System.Diagnostics;
using System.Text;

namespace TaskLeak.Reporting;

/// <summary>Renders a creation stack without the frames of TaskLeak's own hooks and of the async plumbing.</summary>
internal static class StackFormatter
{
    private static readonly string[] s_hiddenPrefixes =
    {
        "TaskLeak.Tracking.",
        "TaskLeak.CompilerServices.",
        "System.Runtime.CompilerServices.AsyncMethodBuilderCore.",
        "System.Runtime.CompilerServices.AsyncTaskMethodBuilder",
        "System.Runtime.CompilerServices.AsyncValueTaskMethodBuilder",
        "System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder",
        "System.Runtime.CompilerServices.AsyncVoidMethodBuilder",
        "System.Runtime.CompilerServices.AsyncIteratorMethodBuilder",
        "System.Threading.ExecutionContext.",
    };

    internal static string Format(StackTrace stack) => Format(stack.ToString());

    /// <remarks>
    /// An async method shows twice at its first suspension: its MoveNext (rendered under the method's name, with the
    /// source line) and right below it the kickoff stub of the same name without a line. The stub adds nothing.
    /// </remarks>
    internal static string Format(string stack)
    {
        string[] lines = stack.Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries);
        var builder = new StringBuilder();
        string? previous = null;
        foreach (string line in lines)
        {
            string trimmed = line.TrimStart();
            string frame = trimmed.StartsWith("at ", StringComparison.Ordinal) ? trimmed.Substring(3) : trimmed;
            if (IsHidden(frame))
            {
                continue;
            }

            int source = frame.IndexOf(" in ", StringComparison.Ordinal);
            string method = source >= 0 ? frame.Substring(0, source) : frame;
            if (source < 0 && method == previous)
            {
                continue;
            }

            previous = method;
            if (builder.Length > 0)
            {
                builder.Append('\n');
            }

            builder.Append("   at ").Append(frame);
        }

        return builder.ToString();
    }

    private static bool IsHidden(string frame)
    {
        foreach (string prefix in s_hiddenPrefixes)
        {
            if (frame.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
