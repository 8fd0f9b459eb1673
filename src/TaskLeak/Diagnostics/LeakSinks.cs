using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;

namespace TaskLeak.Diagnostics;

/// <summary>
/// Where proven leaks go: the logger, the <see cref="TaskLeakDetector.LeakDetected"/> event. Each sink is called
/// in isolation; a sink that throws is counted and skipped, never propagated to the sweeper or the application.
/// </summary>
internal static class LeakSinks
{
    private static ILogger? s_logger;
    private static int s_failures;

    internal static EventHandler<TaskLeakDetectedEventArgs>? LeakDetected;

    internal static int Failures => Volatile.Read(ref s_failures);

    internal static void UseLoggerFactory(ILoggerFactory? factory) =>
        Volatile.Write(ref s_logger, factory?.CreateLogger(LeakLog.Category));

    internal static void CountFailure() => Interlocked.Increment(ref s_failures);

    internal static void Publish(IReadOnlyList<TaskLeakGroup> leaks)
    {
        if (Volatile.Read(ref s_logger) is { } logger)
        {
            foreach (TaskLeakGroup group in leaks)
            {
                try
                {
                    LeakLog.TaskLeaked(logger, group.Method, group.AwaitSite, group.WaitTarget, group.AgeMilliseconds,
                        group.Count, group.Chain, group.CreationStack ?? "(not captured)");
                }
                catch (Exception)
                {
                    CountFailure();
                }
            }
        }

        EventHandler<TaskLeakDetectedEventArgs>? handlers = Volatile.Read(ref LeakDetected);
        if (handlers is not null)
        {
            var args = new TaskLeakDetectedEventArgs(leaks);
            foreach (Delegate handler in handlers.GetInvocationList())
            {
                try
                {
                    ((EventHandler<TaskLeakDetectedEventArgs>)handler)(null, args);
                }
                catch (Exception)
                {
                    CountFailure();
                }
            }
        }
    }
}
