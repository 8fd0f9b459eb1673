using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace TaskLeak.Diagnostics;

/// <summary>
/// Answers dotnet-taskleak: a tool enables the <c>TaskLeak</c> EventSource with command arguments (see
/// <see cref="CommandProtocol"/>), and the answer comes back as <c>CommandReply</c> events. The EventSource owns one
/// instance (it is process-wide); requests address the default detector through the public <see cref="TaskLeakDetector"/>
/// facade only, so a remote request can do nothing the application could not do itself.
/// </summary>
/// <remarks>
/// Soundness: a remote <c>enable</c> is <see cref="TaskLeakDetector.Configure"/> with <c>Enabled = true</c>, which only lets
/// operations that suspend from then on begin; nothing already suspended is registered, and only the GC proof moves an
/// operation into the report. <c>Detect</c> forces collections and sweeps, which proves nothing that is reachable.
/// </remarks>
internal sealed class TaskLeakCommands
{
    private const int RememberedRequests = 64;

    private readonly object _lock = new();
    private readonly Queue<string> _recent = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <summary>Called from the EventSource's OnEventCommand; never throws, never blocks the thread that enabled the session.</summary>
    internal void OnCommand(TaskLeakEventSource source, IDictionary<string, string?>? arguments)
    {
        try
        {
            if (arguments is null || !arguments.TryGetValue(CommandProtocol.CommandKey, out string? command) || command is null ||
                !arguments.TryGetValue(CommandProtocol.RequestIdKey, out string? requestId) || !CommandProtocol.IsValidRequestId(requestId) ||
                !FirstTime(requestId!))
            {
                return;
            }

            var copy = new Dictionary<string, string?>(arguments, StringComparer.OrdinalIgnoreCase);

            // Off the enabling thread: a forced detection takes a while, and that thread may be the one constructing the
            // default detector (which creates this EventSource; a session already on calls back from its constructor).
            // Unsafe: the application's ExecutionContext (AsyncLocals) has no business in a diagnostics request.
            ThreadPool.UnsafeQueueUserWorkItem(static state =>
            {
                var (eventSource, id, name, args) = ((TaskLeakEventSource, string, string, Dictionary<string, string?>))state!;
                Reply(eventSource, id, Execute(id, name, args));
            }, (source, requestId!, command, copy));
        }
        catch (Exception)
        {
            CountFailure();
        }
    }

    /// <summary>Runs one request and returns the reply document (an error document when the request fails).</summary>
    internal static string Execute(string requestId, string command, IDictionary<string, string?> arguments)
    {
        string name = command.Trim().ToLowerInvariant();
        try
        {
            Action<Utf8JsonWriter> result = name switch
            {
                CommandProtocol.Snapshot => WriteRaw(TaskLeakDetector.Snapshot(MinAge(arguments)).ToJson()),
                CommandProtocol.Leaks => WriteRaw((Flag(arguments, CommandProtocol.DetectKey) ? TaskLeakDetector.DetectNow() : TaskLeakDetector.GetReport()).ToJson()),
                CommandProtocol.Stalled => WriteRaw(TaskLeakDetector.GetStalled(MinAge(arguments)).ToJson()),
                CommandProtocol.Monitor => WriteMonitor(),
                CommandProtocol.Enable => Configure(static o => o.Enabled = true),
                CommandProtocol.Disable => Configure(static o => o.Enabled = false),
                CommandProtocol.Sample => Configure(Sample(arguments)),
                CommandProtocol.Status => static _ => { },
                _ => throw new ArgumentException("unknown command '" + command + "'"),
            };

            return Envelope(requestId, name, null, result);
        }
        catch (Exception e)
        {
            return Envelope(requestId, name, e.Message, null);
        }
    }

    private static void Reply(TaskLeakEventSource source, string requestId, string document)
    {
        try
        {
            List<string> chunks = CommandProtocol.Split(document);
            for (int i = 0; i < chunks.Count; i++)
            {
                source.CommandReply(requestId, i, chunks.Count, chunks[i]);
            }

            // A timer, not a sleeping pool thread; the pending Task.Delay is rooted by the timer queue until it fires.
            _ = Task.Delay(CommandProtocol.ReplyEndDelayMilliseconds).ContinueWith(static (_, state) =>
            {
                try
                {
                    var (eventSource, id) = ((TaskLeakEventSource, string))state!;
                    eventSource.CommandReplyEnd(id);
                }
                catch (Exception)
                {
                    CountFailure();
                }
            }, (source, requestId), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        catch (Exception)
        {
            CountFailure();
        }
    }

    /// <summary>EventPipe may call OnEventCommand again with the same arguments (another session changes): run each request once.</summary>
    private bool FirstTime(string requestId)
    {
        lock (_lock)
        {
            if (!_seen.Add(requestId))
            {
                return false;
            }

            _recent.Enqueue(requestId);
            if (_recent.Count > RememberedRequests)
            {
                _seen.Remove(_recent.Dequeue());
            }

            return true;
        }
    }

    /// <summary>
    /// A contained failure counts in the default detector's <see cref="TaskLeakDetector.SinkFailures"/>. While that detector
    /// is being constructed on this thread (it creates the EventSource), <see cref="Detector.Default"/> still reads null
    /// here: the failure is then dropped rather than thrown.
    /// </summary>
    private static void CountFailure() => Detector.Default?.Sinks.CountFailure();

    private static Action<Utf8JsonWriter> Configure(Action<TaskLeakOptions> change)
    {
        TaskLeakDetector.Configure(change);
        return static _ => { };
    }

    private static Action<TaskLeakOptions> Sample(IDictionary<string, string?> arguments)
    {
        int rate = Number(arguments, CommandProtocol.SampleKey, -1, 1);
        return o => o.SampleRate = rate;
    }

    private static Action<Utf8JsonWriter> WriteRaw(string json) => writer => writer.WriteRawValue(json, skipInputValidation: true);

    /// <summary>Optional for <c>snapshot</c> (0: every operation), the threshold for <c>stalled</c>.</summary>
    private static TimeSpan MinAge(IDictionary<string, string?> arguments) =>
        TimeSpan.FromMilliseconds(Number(arguments, CommandProtocol.MinAgeKey, 0, 0));

    /// <summary>
    /// One refresh of <c>dotnet-taskleak monitor</c>: the pending snapshot and the growing sites (their own documents), and
    /// proven counts per site without the report's creation stacks (a refresh every few seconds should stay small).
    /// </summary>
    private static Action<Utf8JsonWriter> WriteMonitor()
    {
        TaskLeakSnapshot snapshot = TaskLeakDetector.Snapshot();
        IReadOnlyList<GrowingSite> growing = TaskLeakDetector.GetGrowingSites();
        TaskLeakReport report = TaskLeakDetector.GetReport();
        return json =>
        {
            json.WriteStartObject();
            json.WriteString("kind", "taskleak.monitor");
            json.WritePropertyName("snapshot");
            json.WriteRawValue(snapshot.ToJson(), skipInputValidation: true);
            json.WritePropertyName("growing");
            json.WriteRawValue(growing.ToJson(), skipInputValidation: true);
            json.WriteNumber("leakedTotal", report.TotalCount);
            json.WriteStartArray("leaks");
            foreach (TaskLeakGroup group in report.Leaks)
            {
                json.WriteStartObject();
                json.WriteString("method", group.Method);
                json.WriteString("awaitSite", group.AwaitSite);
                json.WriteString("waitTarget", group.WaitTarget);
                json.WriteNumber("count", group.Count);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        };
    }

    private static string Envelope(string requestId, string command, string? error, Action<Utf8JsonWriter>? result)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 1);
            json.WriteString("kind", CommandProtocol.ReplyKind);
            json.WriteString("requestId", requestId);
            json.WriteString("command", command);
            json.WriteString("status", error is null ? "ok" : "error");
            if (error is not null)
            {
                json.WriteString("error", error);
            }

            WriteProcess(json);
            if (result is not null)
            {
                json.WritePropertyName("result");
                long before = json.BytesPending + json.BytesCommitted;
                result(json);
                if (json.BytesPending + json.BytesCommitted == before)
                {
                    json.WriteNullValue();
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Who answered and with which settings, on every reply: the tool prints it and tests compare it.</summary>
    private static void WriteProcess(Utf8JsonWriter json)
    {
        TaskLeakOptions options = TaskLeakDetector.Options;
        using (Process self = Process.GetCurrentProcess())
        {
            json.WriteNumber("processId", self.Id);
        }

        json.WriteStartObject("options");
        json.WriteBoolean("enabled", options.Enabled);
        json.WriteNumber("sampleRate", options.SampleRate);
        json.WriteEndObject();
        json.WriteNumber("pendingCount", TaskLeakDetector.PendingCount);
    }

    private static bool Flag(IDictionary<string, string?> arguments, string key) =>
        arguments.TryGetValue(key, out string? value) && value is not null &&
        (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1");

    private static int Number(IDictionary<string, string?> arguments, string key, int fallback, int minimum)
    {
        if (!arguments.TryGetValue(key, out string? text) || string.IsNullOrEmpty(text))
        {
            if (fallback >= minimum)
            {
                return fallback;
            }

            throw new ArgumentException(key + " is required");
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < minimum)
        {
            throw new ArgumentException(key + "=" + text + " is not a whole number of at least " + minimum.ToString(CultureInfo.InvariantCulture));
        }

        return value;
    }
}
