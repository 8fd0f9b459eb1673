using Microsoft.Extensions.Logging;

namespace TaskLeak.Diagnostics;

/// <summary>TaskLeak's log events, category <c>TaskLeak</c>. Event ids and field names are stable: dashboards and alerts key on them.</summary>
internal static partial class LeakLog
{
    internal const string Category = "TaskLeak";

    [LoggerMessage(EventId = 1, EventName = "TaskLeaked", Level = LogLevel.Warning,
        Message = "Leaked async operation: {Method} is suspended at {AwaitSite} waiting on {WaitTarget}, and its frame was collected " +
                  "{AgeMs} ms after it suspended: it can never resume and its finally blocks will never run. " +
                  "{Count} operation(s) leaked here. Chain: {Chain}. Creation stack:\n{CreationStack}")]
    internal static partial void TaskLeaked(ILogger logger, string method, string awaitSite, string waitTarget, long ageMs,
        int count, string chain, string creationStack);

    [LoggerMessage(EventId = 2, EventName = "OperationStalled", Level = LogLevel.Warning,
        Message = "Stalled async operations (suspected \u2014 still reachable, not a proven leak): {Count} operation(s) of {Method} " +
                  "have been suspended at {AwaitSite} waiting on {WaitTarget} for at least {ThresholdMs} ms (oldest {OldestAgeMs} ms).")]
    internal static partial void OperationStalled(ILogger logger, string method, string awaitSite, string waitTarget, int count,
        long oldestAgeMs, long thresholdMs);

    [LoggerMessage(EventId = 3, EventName = "GrowingSite", Level = LogLevel.Information,
        Message = "Growing await site (suspected \u2014 still reachable, not a proven leak): {Method} at {AwaitSite} waiting on {WaitTarget} " +
                  "has {Count} live suspended operation(s), up {Increase} over {Sweeps} consecutive sweeps.")]
    internal static partial void GrowingSite(ILogger logger, string method, string awaitSite, string waitTarget, int count,
        int increase, int sweeps);

    [LoggerMessage(EventId = 4, EventName = "RuntimeError", Level = LogLevel.Error,
        Message = "TaskLeak could not do part of its work and turned it off (the application is not affected): {Problem}")]
    internal static partial void RuntimeError(ILogger logger, string problem);
}
