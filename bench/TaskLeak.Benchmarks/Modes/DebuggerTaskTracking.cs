using System;
using System.Collections;
using System.Reflection;
using System.Threading.Tasks;

namespace TaskLeak.Benchmarks.Modes;

/// <summary>
/// The tracking a debugger switches on to list pending tasks: <c>Task.s_asyncDebuggingEnabled</c> makes every async
/// box and Task.Run task register itself in <c>Task.s_currentActiveTasks</c> (a locked dictionary) until it completes.
/// </summary>
internal static class DebuggerTaskTracking
{
    private const BindingFlags Static = BindingFlags.NonPublic | BindingFlags.Static;

    private static readonly FieldInfo s_enabled = typeof(Task).GetField("s_asyncDebuggingEnabled", Static)
        ?? throw new MissingFieldException(typeof(Task).FullName, "s_asyncDebuggingEnabled");

    private static readonly FieldInfo s_active = typeof(Task).GetField("s_currentActiveTasks", Static)
        ?? throw new MissingFieldException(typeof(Task).FullName, "s_currentActiveTasks");

    internal static bool IsEnabled => (bool)s_enabled.GetValue(null)!;

    internal static void Enable() => s_enabled.SetValue(null, true);

    /// <summary>Tasks the runtime currently lists as active (0 until something was tracked).</summary>
    internal static int ActiveCount
    {
        get
        {
            if (s_active.GetValue(null) is not ICollection active)
            {
                return 0;
            }

            lock (active)
            {
                return active.Count;
            }
        }
    }
}
