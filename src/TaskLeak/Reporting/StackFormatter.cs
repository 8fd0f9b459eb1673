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

    internal static string Format(StackTrace stack)
    {
        string[] lines = stack.ToString().Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries);
        var builder = new StringBuilder();
        foreach (string line in lines)
        {
            string trimmed = line.TrimStart();
            string frame = trimmed.StartsWith("at ", StringComparison.Ordinal) ? trimmed.Substring(3) : trimmed;
            if (IsHidden(frame))
            {
                continue;
            }

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
