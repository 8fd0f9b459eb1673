using System;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Text.Json;
using System.Threading.Tasks;
using NUnit.Framework;
using TaskLeak.Diagnostics;

namespace TaskLeak.Tool.Tests;

/// <summary>
/// The runtime's side of the protocol, in this process: an EventListener enables the <c>TaskLeak</c> EventSource with
/// command arguments, exactly as an EventPipe session does, and reads the reply events.
/// </summary>
[NonParallelizable]
public sealed class RuntimeCommandTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Test]
    public void The_event_source_exists_once_settings_are_read_even_when_nothing_was_tracked()
    {
        // What the first hook does in a dormant process: create the default detector (it reads the settings). Nothing
        // here has been woven or tracked.
        _ = TaskLeakDetector.Options;
        using var listener = new ReplyListener();
        Assert.That(listener.Source, Is.Not.Null);
        Assert.That(listener.Source!.Name, Is.EqualTo("TaskLeak"));
    }

    [Test]
    public async Task Snapshot_replies_with_the_envelope_and_the_runtime_snapshot()
    {
        using JsonDocument reply = await Ask("snapshot");
        JsonElement root = reply.RootElement;
        Assert.That(root.GetProperty("kind").GetString(), Is.EqualTo("taskleak.reply"));
        Assert.That(root.GetProperty("status").GetString(), Is.EqualTo("ok"));
        Assert.That(root.GetProperty("command").GetString(), Is.EqualTo("snapshot"));
        Assert.That(root.GetProperty("processId").GetInt32(), Is.EqualTo(Environment.ProcessId));
        Assert.That(root.GetProperty("options").GetProperty("enabled").GetBoolean(), Is.EqualTo(TaskLeakDetector.Options.Enabled));
        Assert.That(root.GetProperty("result").GetProperty("kind").GetString(), Is.EqualTo("taskleak.snapshot"));
        Assert.That(root.GetProperty("result").GetProperty("totalCount").GetInt32(), Is.EqualTo(TaskLeakDetector.Snapshot().TotalCount));
    }

    [Test]
    public async Task Leaks_stalled_and_monitor_reply_with_their_documents()
    {
        using JsonDocument leaks = await Ask("leaks", ("Detect", "true"));
        Assert.That(leaks.RootElement.GetProperty("result").GetProperty("kind").GetString(), Is.EqualTo("taskleak.report"));
        Assert.That(leaks.RootElement.GetProperty("result").GetProperty("totalCount").GetInt64(), Is.EqualTo(TaskLeakDetector.GetReport().TotalCount));

        using JsonDocument stalled = await Ask("stalled", ("MinAge", "1000"));
        JsonElement result = stalled.RootElement.GetProperty("result");
        Assert.That(result.GetProperty("kind").GetString(), Is.EqualTo("taskleak.stalled"));
        Assert.That(result.GetProperty("label").GetString(), Is.EqualTo(StalledOperationGroup.Label));
        Assert.That(result.GetProperty("groups").ValueKind, Is.EqualTo(JsonValueKind.Array));
        Assert.That(result.GetProperty("schemaVersion").GetInt32(), Is.EqualTo(1), "the runtime's own ToJson document, not a copy");

        using JsonDocument monitor = await Ask("monitor");
        result = monitor.RootElement.GetProperty("result");
        Assert.That(result.GetProperty("kind").GetString(), Is.EqualTo("taskleak.monitor"));
        Assert.That(result.GetProperty("snapshot").GetProperty("kind").GetString(), Is.EqualTo("taskleak.snapshot"));
        Assert.That(result.GetProperty("growing").GetProperty("kind").GetString(), Is.EqualTo("taskleak.growing"));
        Assert.That(result.GetProperty("growing").GetProperty("sites").ValueKind, Is.EqualTo(JsonValueKind.Array));
        Assert.That(result.GetProperty("leakedTotal").GetInt64(), Is.EqualTo(TaskLeakDetector.GetReport().TotalCount));
    }

    [Test]
    public async Task Enable_disable_and_sample_switch_the_settings_through_Configure()
    {
        TaskLeakOptions before = TaskLeakDetector.Options;
        try
        {
            using (JsonDocument reply = await Ask("disable"))
            {
                Assert.That(reply.RootElement.GetProperty("options").GetProperty("enabled").GetBoolean(), Is.False);
                Assert.That(TaskLeakDetector.Options.Enabled, Is.False);
            }

            using (JsonDocument reply = await Ask("sample", ("Sample", "3")))
            {
                Assert.That(reply.RootElement.GetProperty("options").GetProperty("sampleRate").GetInt32(), Is.EqualTo(3));
                Assert.That(TaskLeakDetector.Options.SampleRate, Is.EqualTo(3));
                Assert.That(TaskLeakDetector.Options.Enabled, Is.False, "sample changes the rate only");
            }

            using (JsonDocument reply = await Ask("enable"))
            {
                Assert.That(reply.RootElement.GetProperty("options").GetProperty("enabled").GetBoolean(), Is.True);
                Assert.That(TaskLeakDetector.Options.Enabled, Is.True);
            }
        }
        finally
        {
            TaskLeakDetector.Configure(o =>
            {
                o.Enabled = before.Enabled;
                o.SampleRate = before.SampleRate;
            });
        }
    }

    [TestCase("sample", "Sample", "0", "Sample=0")]
    [TestCase("sample", "Sample", "x", "Sample=x")]
    [TestCase("sample", null, null, "Sample is required")]
    [TestCase("stalled", "MinAge", "-1", "MinAge=-1")]
    [TestCase("reboot", null, null, "unknown command 'reboot'")]
    public async Task A_bad_request_gets_an_error_reply_and_changes_nothing(string command, string? key, string? value, string message)
    {
        int rate = TaskLeakDetector.Options.SampleRate;
        using JsonDocument reply = key is null ? await Ask(command) : await Ask(command, (key, value!));
        Assert.That(reply.RootElement.GetProperty("status").GetString(), Is.EqualTo("error"));
        Assert.That(reply.RootElement.GetProperty("error").GetString(), Does.Contain(message));
        Assert.That(reply.RootElement.TryGetProperty("result", out _), Is.False);
        Assert.That(TaskLeakDetector.Options.SampleRate, Is.EqualTo(rate));
    }

    [Test]
    public async Task A_request_id_is_answered_once_even_if_the_command_is_delivered_again()
    {
        _ = TaskLeakDetector.Options;
        using var listener = new ReplyListener();
        string id = NewId();
        var arguments = Arguments("snapshot", id);
        listener.EnableEvents(listener.Source!, EventLevel.Informational, EventKeywords.All, arguments);
        await listener.ReplyTo(id).WaitAsync(Patience);
        listener.EnableEvents(listener.Source!, EventLevel.Informational, EventKeywords.All, arguments);

        // A later request's end event (written 250 ms after its reply) bounds when a duplicate reply would have come.
        string next = NewId();
        listener.EnableEvents(listener.Source!, EventLevel.Informational, EventKeywords.All, Arguments("snapshot", next));
        await listener.EndOf(next).WaitAsync(Patience);
        Assert.That(listener.ChunksFor(id), Is.EqualTo(1));
    }

    [Test]
    public void Arguments_without_a_command_or_a_valid_request_id_are_ignored()
    {
        _ = TaskLeakDetector.Options;
        using var listener = new ReplyListener();
        listener.EnableEvents(listener.Source!, EventLevel.Informational, EventKeywords.All, new Dictionary<string, string?> { ["RequestId"] = "abc" });
        listener.EnableEvents(listener.Source!, EventLevel.Informational, EventKeywords.All, new Dictionary<string, string?> { ["Command"] = "snapshot", ["RequestId"] = "a;b" });
        listener.EnableEvents(listener.Source!, EventLevel.Informational, EventKeywords.All, new Dictionary<string, string?> { ["Command"] = "snapshot" });
        string next = NewId();
        listener.EnableEvents(listener.Source!, EventLevel.Informational, EventKeywords.All, Arguments("snapshot", next));
        listener.EndOf(next).Wait(Patience);
        Assert.That(listener.RequestIds, Is.EqualTo(new[] { next }));
    }

    private static async Task<JsonDocument> Ask(string command, params (string Key, string Value)[] extra)
    {
        _ = TaskLeakDetector.Options;
        using var listener = new ReplyListener();
        string id = NewId();
        Dictionary<string, string?> arguments = Arguments(command, id);
        foreach ((string key, string value) in extra)
        {
            arguments[key] = value;
        }

        listener.EnableEvents(listener.Source!, EventLevel.Informational, EventKeywords.All, arguments);
        JsonDocument reply = JsonDocument.Parse(await listener.ReplyTo(id).WaitAsync(Patience));
        Assert.That(reply.RootElement.GetProperty("requestId").GetString(), Is.EqualTo(id));
        return reply;
    }

    private static Dictionary<string, string?> Arguments(string command, string id) => new() { ["Command"] = command, ["RequestId"] = id };

    private static string NewId() => Guid.NewGuid().ToString("N");

    /// <summary>Collects reply chunks by request id, as the tool does.</summary>
    private sealed class ReplyListener : EventListener
    {
        private readonly object _lock = new();
        private readonly Dictionary<string, ReplyAssembler> _assemblers = new();
        private readonly Dictionary<string, TaskCompletionSource<string>> _replies = new();
        private readonly Dictionary<string, TaskCompletionSource> _ends = new();
        private readonly Dictionary<string, int> _chunks = new();
        private readonly List<string> _order = new();

        public EventSource? Source { get; private set; }

        public IReadOnlyList<string> RequestIds
        {
            get
            {
                lock (_lock)
                {
                    return _order.ToArray();
                }
            }
        }

        public Task<string> ReplyTo(string id)
        {
            lock (_lock)
            {
                return Reply(id).Task;
            }
        }

        public Task EndOf(string id)
        {
            lock (_lock)
            {
                return End(id).Task;
            }
        }

        public int ChunksFor(string id)
        {
            lock (_lock)
            {
                return _chunks.TryGetValue(id, out int n) ? n : 0;
            }
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == CommandProtocolName)
            {
                Source = eventSource;
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventSource.Name != CommandProtocolName || e.Payload is null || e.EventId is not (CommandProtocol.ReplyEventId or CommandProtocol.ReplyEndEventId))
            {
                return;
            }

            lock (_lock)
            {
                string id = (string)e.Payload[0]!;
                if (e.EventId == CommandProtocol.ReplyEndEventId)
                {
                    End(id).TrySetResult();
                    return;
                }

                if (e.EventId != CommandProtocol.ReplyEventId)
                {
                    return;
                }

                if (!_order.Contains(id))
                {
                    _order.Add(id);
                }

                _chunks[id] = (_chunks.TryGetValue(id, out int n) ? n : 0) + 1;
                if (!_assemblers.TryGetValue(id, out ReplyAssembler? assembler))
                {
                    _assemblers[id] = assembler = new ReplyAssembler(id);
                }

                if (assembler.Add(id, (int)e.Payload[1]!, (int)e.Payload[2]!, (string)e.Payload[3]!))
                {
                    Reply(id).TrySetResult(assembler.Text);
                }
            }
        }

        private TaskCompletionSource<string> Reply(string id) =>
            _replies.TryGetValue(id, out TaskCompletionSource<string>? tcs) ? tcs : _replies[id] = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private TaskCompletionSource End(string id) =>
            _ends.TryGetValue(id, out TaskCompletionSource? tcs) ? tcs : _ends[id] = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private const string CommandProtocolName = "TaskLeak";
    }
}
