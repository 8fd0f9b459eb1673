using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Runtime.CompilerServices;

namespace LeakCorpus.Harness;

/// <summary>What the runtime's event 27 said about one scenario.</summary>
public sealed class Event27Outcome
{
    /// <summary>Creates an outcome (also used when reading the event-27 pass's output).</summary>
    public Event27Outcome(string compilation, string scenario, IReadOnlyList<string> events, int otherEvents, string? error)
    {
        Compilation = compilation;
        Scenario = scenario;
        Events = events;
        OtherEvents = otherEvents;
        Error = error;
    }

    /// <summary>The compilation the scenario came from.</summary>
    public string Compilation { get; }

    /// <summary>The scenario's name.</summary>
    public string Scenario { get; }

    /// <summary>The <c>stateMachineDescription</c> payload of every event 27 raised for a corpus state machine while the scenario ran.</summary>
    public IReadOnlyList<string> Events { get; }

    /// <summary>Events 27 raised meanwhile for state machines outside the corpus (the runtime's own, the harness's).</summary>
    public int OtherEvents { get; }

    /// <summary>A scenario that did not run as written.</summary>
    public string? Error { get; }
}

/// <summary>
/// The peer: the runtime's <c>System.Threading.Tasks.TplEventSource</c> event 27, <c>IncompleteAsyncMethod</c>
/// (keyword <c>AsyncMethod</c> = 0x100, level Warning). While a listener has it enabled, every async state-machine box
/// created is a finalizable one whose finalizer raises the event if the method never completed; its only payload is
/// the state machine's description: its type name and the value of each of its fields.
/// </summary>
/// <remarks>
/// Enabling it changes what every async method allocates, so this pass runs in a process of its own, with the
/// listener created before any scenario runs (boxes made before it was enabled are never reported).
/// </remarks>
public static class Event27Pass
{
    /// <summary>The event source's name.</summary>
    public const string SourceName = "System.Threading.Tasks.TplEventSource";

    /// <summary><c>TplEventSource.Keywords.AsyncMethod</c> on .NET 10.</summary>
    public const EventKeywords AsyncMethodKeyword = (EventKeywords)0x100;

    /// <summary>The event's id.</summary>
    public const int IncompleteAsyncMethod = 27;

    private const int MaxRounds = 40;
    private static Listener? s_listener;

    /// <summary>Enables event 27; call before any scenario starts.</summary>
    public static void Enable() => s_listener ??= new Listener();

    /// <summary>Runs one scenario and collects the events 27 it caused.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Event27Outcome Run(CorpusCase corpusCase)
    {
        Listener listener = s_listener ?? throw new InvalidOperationException("Call Event27Pass.Enable() before creating any scenario's tasks.");
        Expected expected = corpusCase.Expected;
        Scenario scenario = corpusCase.Create();
        Driver.Collect();
        listener.Drain();

        var errors = new List<string>();
        var events = new List<string>();
        int other = 0;
        void Take()
        {
            foreach (string description in listener.Drain())
            {
                if (description.StartsWith("LeakCorpus.", StringComparison.Ordinal))
                {
                    events.Add(description);
                }
                else
                {
                    other++;
                }
            }
        }

        if (Driver.Start(scenario) is string startError)
        {
            errors.Add(startError);
        }

        Driver.Settle();
        int rounds = expected.Verdict == Verdict.ProvenLeak ? MaxRounds : 2;
        for (int round = 0; round < rounds; round++)
        {
            Driver.Collect();
            Take();
            if (expected.Verdict == Verdict.ProvenLeak && events.Count >= expected.TotalRoots)
            {
                break;
            }

            Driver.Settle();
        }

        if (Driver.Finish(scenario) is string finishError)
        {
            errors.Add(finishError);
        }

        Driver.Settle();
        Driver.Collect();
        Driver.Collect();
        Take();
        return new Event27Outcome(corpusCase.Compilation, corpusCase.Name, events, other, errors.Count > 0 ? string.Join("; ", errors) : null);
    }

    private sealed class Listener : EventListener
    {
        private readonly ConcurrentQueue<string> _descriptions = new();

        internal List<string> Drain()
        {
            var all = new List<string>();
            while (_descriptions.TryDequeue(out string? item))
            {
                all.Add(item);
            }

            return all;
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == SourceName)
            {
                EnableEvents(eventSource, EventLevel.Warning, AsyncMethodKeyword);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventId == IncompleteAsyncMethod && eventData.Payload is { Count: > 0 } payload)
            {
                _descriptions.Enqueue(payload[0] as string ?? "");
            }
        }
    }

    /// <summary>
    /// The method a description names, from the state machine's type: <c>Ns.Type+&lt;WaitAsync&gt;d__3</c> is
    /// <c>Ns.Type.WaitAsync</c>; a lambda's or local function's (<c>&lt;&lt;Start&gt;b__0_0&gt;d</c>) names its containing
    /// method; generic arities and arguments are dropped.
    /// </summary>
    public static string MethodOf(string description)
    {
        string typeName = description.Split('\n')[0].Trim();
        int arguments = typeName.IndexOf("[[", StringComparison.Ordinal);
        if (arguments >= 0)
        {
            typeName = typeName.Substring(0, arguments);
        }

        string[] parts = typeName.Split('+');
        string machine = parts[^1];
        int open = machine.StartsWith("<<", StringComparison.Ordinal) ? 2 : 1;
        int close = machine.IndexOf('>', open);
        string method = close > open ? machine.Substring(open, close - open) : machine;
        IEnumerable<string> types = parts.Take(parts.Length - 1).Where(p => !p.StartsWith("<>", StringComparison.Ordinal)).Select(StripArity);
        return string.Join(".", types) + "." + method;
    }

    private static string StripArity(string name)
    {
        int tick = name.IndexOf('`');
        return tick >= 0 ? name.Substring(0, tick) : name;
    }

    /// <summary>The payload lines describing the awaiter fields (<c>&lt;&gt;u__1: TaskAwaiter`1[Int32]</c>): all it says about what the frame awaits.</summary>
    public static IEnumerable<string> AwaiterLines(string description) =>
        description.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("<>u__", StringComparison.Ordinal));
}
