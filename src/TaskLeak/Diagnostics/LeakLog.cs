using Microsoft.Extensions.Logging;

namespace TaskLeak.Diagnostics;

/// <summary>TaskLeak's log events. Event ids are stable: dashboards and alerts key on them.</summary>
internal static partial class LeakLog
{
    internal const string Category = "TaskLeak";

    [LoggerMessage(EventId = 1, EventName = "TaskLeaked", Level = LogLevel.Warning,
        Message = "Leaked async operation: {Method} is suspended at {AwaitSite} waiting on {WaitTarget}, and its frame was collected " +
                  "{AgeMs} ms after it suspended: it can never resume and its finally blocks will never run. " +
                  "{Count} operation(s) leaked here. Chain: {Chain}. Creation stack:\n{CreationStack}")]
    internal static partial void TaskLeaked(ILogger logger, string method, string awaitSite, string waitTarget, long ageMs,
        int count, string chain, string creationStack);
}
