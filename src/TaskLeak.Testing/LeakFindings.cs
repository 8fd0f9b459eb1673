using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace TaskLeak.Testing;

/// <summary>Leaks proven at one site that the test answers for.</summary>
/// <param name="Group">The site's group; its example (stack, chain) is the first operation the ledger saw there.</param>
/// <param name="Count">How many of them the test answers for.</param>
/// <param name="ExampleMayBeForeign">Others leaked at this site too, and the example stack does not run through the test.</param>
internal readonly record struct LeakFinding(TaskLeakGroup Group, long Count, bool ExampleMayBeForeign);

/// <summary>What one check found: proven leaks and, for pending checks, operations still suspended.</summary>
internal sealed class LeakFindings
{
    private static readonly string[] s_frameworkFrames = { "at NUnit.", "at Xunit.", "at System.", "at Microsoft." };
    private static readonly string[] s_runnerFrames =
    {
        "at System.Reflection.", "at System.RuntimeMethodHandle.", "at NUnit.", "at Xunit.",
        "at Microsoft.VisualStudio.TestPlatform.", "at Microsoft.VisualStudio.TestTools.", "at Microsoft.Testing.",
    };
    private readonly string _whose;
    private readonly string? _testMethod;

    /// <param name="leaks">Proven leaks the test answers for.</param>
    /// <param name="pending">Operations still suspended that the test answers for.</param>
    /// <param name="whose">Whose operations these are, for the message: "started by this test", "in this process".</param>
    /// <param name="testMethod">The test's <c>Namespace.Type.Method</c>: creation stacks end at its frame.</param>
    internal LeakFindings(List<LeakFinding> leaks, List<(PendingOperationGroup Group, long Count)> pending, string whose, string? testMethod)
    {
        _testMethod = testMethod;
        Leaks = leaks;
        Pending = pending;
        _whose = whose;
    }

    internal List<LeakFinding> Leaks { get; }

    internal List<(PendingOperationGroup Group, long Count)> Pending { get; }

    internal bool IsEmpty => Leaks.Count == 0 && Pending.Count == 0;

    /// <summary>The failure message: each leak with its stuck await, wait target, chain and creation stack.</summary>
    public override string ToString()
    {
        string whose = _whose;
        var text = new StringBuilder();
        if (Leaks.Count > 0)
        {
            long total = 0;
            foreach (LeakFinding leak in Leaks)
            {
                total += leak.Count;
            }

            text.Append("TaskLeak: ").Append(Operations(total)).Append(' ').Append(whose)
                .Append(" leaked: the garbage collector reclaimed the suspended frame, so it can never resume and its finally blocks never run.\n");
            foreach ((TaskLeakGroup group, long count, bool foreign) in Leaks)
            {
                text.Append('\n').Append(count.ToString(CultureInfo.InvariantCulture)).Append(" \u00d7 ").Append(group.Method)
                    .Append(" at ").Append(group.AwaitSite);
                if (group.Detail.Length > 0)
                {
                    text.Append(" (").Append(group.Detail).Append(')');
                }

                text.Append('\n');
                text.Append("    waiting on  ").Append(group.WaitTarget).Append('\n');
                text.Append("    chain       ").Append(group.Chain).Append(foreign ? "  (an example: others leaked here too)" : "").Append('\n');
                if (group.CreationStack is { Length: > 0 } stack)
                {
                    text.Append(foreign ? "    created at  (an example from another operation at this site)\n" : "    created at\n");
                    AppendUserFrames(text, stack, _testMethod);
                }
            }
        }

        if (Pending.Count > 0)
        {
            long total = 0;
            foreach ((PendingOperationGroup _, long count) in Pending)
            {
                total += count;
            }

            if (text.Length > 0)
            {
                text.Append('\n');
            }

            text.Append("TaskLeak: ").Append(Operations(total)).Append(' ').Append(whose)
                .Append(total == 1 ? " is" : " are")
                .Append(" still suspended at its end (reachable, so not a proven leak: stalled, or finishing late).\n");
            foreach ((PendingOperationGroup group, long count) in Pending)
            {
                text.Append('\n').Append(count.ToString(CultureInfo.InvariantCulture)).Append(" \u00d7 ").Append(group.Method)
                    .Append(" at ").Append(group.AwaitSite).Append('\n');
                text.Append("    waiting on  ").Append(group.WaitTarget).Append('\n');
                text.Append("    suspended   ").Append(group.OldestAgeMilliseconds.ToString(CultureInfo.InvariantCulture))
                    .Append(" ms (oldest)\n");
            }
        }

        return text.ToString();
    }

    // The stack runs on into the test runner and the thread pool; those trailing frames say nothing about the leak.
    // Below the test method's own frame everything is the runner's (and, where a continuation ran inline, another
    // test's), so the stack ends there; without that frame, trailing framework frames are dropped.
    private static void AppendUserFrames(StringBuilder text, string stack, string? testMethod)
    {
        var frames = new List<string>();
        foreach (string line in stack.Split('\n'))
        {
            string frame = line.Trim();
            if (frame.Length > 0)
            {
                frames.Add(frame);
            }
        }

        int end = frames.Count;
        string? testFrame = testMethod is null ? null : "at " + testMethod + "(";
        int test = testFrame is null ? -1 : frames.FindIndex(frame => frame.StartsWith(testFrame, System.StringComparison.Ordinal));
        if (test >= 0)
        {
            end = test + 1;
        }
        else
        {
            // Another test's example (or no test method to look for): the runner starts where it invoked a test
            // method by reflection, and below that, a continuation that ran inline is yet another test's frames.
            int runner = frames.FindIndex(IsRunner);
            if (runner > 0)
            {
                end = runner;
            }
        }

        while (end > 1 && IsFramework(frames[end - 1]))
        {
            end--;
        }

        for (int i = 0; i < end; i++)
        {
            text.Append("      ").Append(frames[i]).Append('\n');
        }
    }

    private static bool IsRunner(string frame)
    {
        foreach (string prefix in s_runnerFrames)
        {
            if (frame.StartsWith(prefix, System.StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsFramework(string frame)
    {
        foreach (string prefix in s_frameworkFrames)
        {
            if (frame.StartsWith(prefix, System.StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string Operations(long count) =>
        count.ToString(CultureInfo.InvariantCulture) + (count == 1 ? " async operation" : " async operations");
}
