using System.Diagnostics.Tracing;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace TaskLeak.Benchmarks.Modes;

/// <summary>
/// The runtime's own GC-based detector: enabling TplEventSource's AsyncMethod keyword (0x100) at Warning makes every
/// async state-machine box a finalizable one whose finalizer writes event 27 (IncompleteAsyncMethod) if the method
/// never completed. This listener turns it on in-process, the way a monitoring agent would.
/// </summary>
internal sealed class IncompleteAsyncMethodListener : EventListener
{
    internal const string SourceName = "System.Threading.Tasks.TplEventSource";
    internal const EventKeywords AsyncMethodKeyword = (EventKeywords)0x100;
    internal const int IncompleteAsyncMethodEventId = 27;

    private static IncompleteAsyncMethodListener? s_listener;
    private static int s_incomplete;

    /// <summary>Event 27s received: async methods the GC collected before they completed.</summary>
    internal static int IncompleteAsyncMethods => Volatile.Read(ref s_incomplete);

    internal static void Start()
    {
        if (s_listener is null)
        {
            s_listener = new IncompleteAsyncMethodListener();

            // TplEventSource is created on first use; once it exists the listener enables it (OnEventSourceCreated).
            Task.Run(static () => { }).Wait();
        }
    }

    internal static bool IsEventEnabled() =>
        EventSource.GetSources().FirstOrDefault(s => s.Name == SourceName) is { } source &&
        source.IsEnabled(EventLevel.Warning, AsyncMethodKeyword);

    // Called from the base constructor for sources that already exist, and later for new ones.
    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == SourceName)
        {
            EnableEvents(eventSource, EventLevel.Warning, AsyncMethodKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventId == IncompleteAsyncMethodEventId)
        {
            Interlocked.Increment(ref s_incomplete);
        }
    }
}
