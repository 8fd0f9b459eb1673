using System.Diagnostics.Tracing;

namespace TaskLeak.Diagnostics;

/// <summary>
/// The <c>TaskLeak</c> EventSource: one event per proven leak group, stalled site and growing site (ids as the log
/// events), runtime errors, the replies to dotnet-taskleak requests (<see cref="CommandProtocol"/>), and, on .NET, the
/// counters <c>pending</c> and <c>leaked-total</c> for dotnet-counters. Process-wide, like the Meter: every detector
/// publishes to it; its counters and its commands address the default detector.
/// </summary>
[EventSource(Name = SourceName)]
internal sealed class TaskLeakEventSource : EventSource
{
    internal const string SourceName = CommandProtocol.SourceName;

    internal static readonly TaskLeakEventSource Log = new();

    // A field initialiser, so it is set before the base constructor runs: a session already on when the source is
    // created calls OnEventCommand from that constructor.
    private readonly TaskLeakCommands _commands = new();

#if NET
    private PollingCounter? _pending;
    private PollingCounter? _leakedTotal;
#endif

    private TaskLeakEventSource()
    {
    }

    [Event(1, Level = EventLevel.Warning, Message = "Leaked: {0} at {1} waiting on {2} ({3} operation(s)); chain {5}")]
    public void TaskLeaked(string Method, string AwaitSite, string WaitTarget, int Count, long AgeMs, string Chain) =>
        WriteEvent(1, Method, AwaitSite, WaitTarget, Count, AgeMs, Chain);

    [Event(2, Level = EventLevel.Warning, Message = "Stalled (suspected, still reachable): {3} operation(s) of {0} at {1} waiting on {2}, oldest {4} ms")]
    public void OperationStalled(string Method, string AwaitSite, string WaitTarget, int Count, long OldestAgeMs) =>
        WriteEvent(2, Method, AwaitSite, WaitTarget, Count, OldestAgeMs);

    [Event(3, Level = EventLevel.Informational, Message = "Growing site (suspected): {0} at {1} waiting on {2}: {3} live, +{4} over {5} sweeps")]
    public void GrowingSite(string Method, string AwaitSite, string WaitTarget, int Count, int Increase, int Sweeps) =>
        WriteEvent(3, Method, AwaitSite, WaitTarget, Count, Increase, Sweeps);

    [Event(4, Level = EventLevel.Error, Message = "TaskLeak turned part of its work off: {0}")]
    public void RuntimeError(string Problem) => WriteEvent(4, Problem);

    /// <summary>One chunk of the JSON reply to a dotnet-taskleak request (<see cref="CommandProtocol"/>).</summary>
    [Event(CommandProtocol.ReplyEventId, Level = EventLevel.Informational, Message = "Reply to {0}: chunk {1} of {2}")]
    public void CommandReply(string RequestId, int Chunk, int ChunkCount, string Payload) =>
        WriteEvent(CommandProtocol.ReplyEventId, RequestId, Chunk, ChunkCount, Payload);

    /// <summary>Written a moment after a reply's last chunk, in a later EventPipe flush: a reader (TraceEvent) may hold an event back until a later one arrives.</summary>
    [Event(CommandProtocol.ReplyEndEventId, Level = EventLevel.Informational, Message = "End of reply to {0}")]
    public void CommandReplyEnd(string RequestId) => WriteEvent(CommandProtocol.ReplyEndEventId, RequestId);

    protected override void OnEventCommand(EventCommandEventArgs command)
    {
        if (command.Command != EventCommand.Enable)
        {
            return;
        }

        _commands.OnCommand(this, command.Arguments);
#if NET

        // Created on demand: counters cost nothing until a tool (dotnet-counters, an EventListener) asks for them.
        _pending ??= new PollingCounter("pending", this, static () => Detector.Default.Registry.CountTracked())
        {
            DisplayName = "Suspended async operations tracked",
        };
        _leakedTotal ??= new PollingCounter("leaked-total", this, static () => Detector.Default.Ledger.TotalProven)
        {
            DisplayName = "Leaked async operations proven (since start or Reset)",
        };
#endif
    }
}
