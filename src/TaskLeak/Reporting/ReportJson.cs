using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TaskLeak.Reporting;

/// <summary>The JSON documents, schema version 1 (documented in the README): the leak report, the pending snapshot and the suspected tiers.</summary>
internal static class ReportJson
{
    internal const int SchemaVersion = 1;

    internal static string Format(TaskLeakReport report) => Write(json =>
    {
        json.WriteNumber("schemaVersion", SchemaVersion);
        json.WriteString("kind", "taskleak.report");
        json.WriteNumber("totalCount", report.TotalCount);
        json.WriteNumber("overflowCount", report.OverflowCount);
        json.WriteStartArray("leaks");
        foreach (TaskLeakGroup group in report.Leaks)
        {
            json.WriteStartObject();
            json.WriteString("method", group.Method);
            json.WriteString("awaitSite", group.AwaitSite);
            WriteOptional(json, "sourcePath", group.SourcePath);
            json.WriteNumber("line", group.Line);
            json.WriteString("waitTarget", group.WaitTarget);
            json.WriteNumber("count", group.Count);
            json.WriteNumber("awaiterCount", group.AwaiterCount);
            json.WriteNumber("ageMs", group.AgeMilliseconds);
            json.WriteString("detail", group.Detail);
            json.WriteString("chain", group.Chain);
            WriteAsyncStack(json, group.AsyncStack);
            json.WriteStartArray("awaitedBy");
            foreach (string awaiter in group.AwaitedBy)
            {
                json.WriteStringValue(awaiter);
            }

            json.WriteEndArray();
            WriteOptional(json, "startedBy", group.StartedBy);
            WriteOptional(json, "creationStack", group.CreationStack);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    });

    internal static string Format(TaskLeakSnapshot snapshot) => Write(json =>
    {
        json.WriteNumber("schemaVersion", SchemaVersion);
        json.WriteString("kind", "taskleak.snapshot");
        json.WriteNumber("totalCount", snapshot.TotalCount);
        json.WriteStartArray("groups");
        foreach (PendingOperationGroup group in snapshot.Groups)
        {
            json.WriteStartObject();
            WriteSuspendedSite(json, group.Method, group.AwaitSite, group.SourcePath, group.Line, group.WaitTarget, group.Count, group.OldestAgeMilliseconds);
            json.WriteStartArray("stacks");
            foreach (PendingStack stack in group.Stacks)
            {
                json.WriteStartObject();
                json.WriteNumber("count", stack.Count);
                json.WriteNumber("oldestAgeMs", stack.OldestAgeMilliseconds);
                WriteAsyncStack(json, stack.AsyncStack);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    });

    internal static string Format(IReadOnlyList<StalledOperationGroup> stalled) => Write(json =>
    {
        json.WriteNumber("schemaVersion", SchemaVersion);
        json.WriteString("kind", "taskleak.stalled");
        json.WriteString("label", StalledOperationGroup.Label);
        int total = 0;
        foreach (StalledOperationGroup group in stalled)
        {
            total += group.Count;
        }

        json.WriteNumber("totalCount", total);
        json.WriteStartArray("groups");
        foreach (StalledOperationGroup group in stalled)
        {
            json.WriteStartObject();
            WriteSuspendedSite(json, group.Method, group.AwaitSite, group.SourcePath, group.Line, group.WaitTarget, group.Count, group.OldestAgeMilliseconds);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    });

    internal static string Format(IReadOnlyList<GrowingSite> growing) => Write(json =>
    {
        json.WriteNumber("schemaVersion", SchemaVersion);
        json.WriteString("kind", "taskleak.growing");
        json.WriteString("label", StalledOperationGroup.Label);
        json.WriteStartArray("sites");
        foreach (GrowingSite site in growing)
        {
            json.WriteStartObject();
            json.WriteString("method", site.Method);
            json.WriteString("awaitSite", site.AwaitSite);
            json.WriteString("waitTarget", site.WaitTarget);
            json.WriteNumber("count", site.Count);
            json.WriteNumber("increase", site.Increase);
            json.WriteNumber("sweeps", site.Sweeps);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    });

    // Snapshot and stalled groups are separate types on purpose (a suspected group never shares a type with a
    // snapshot); their site fields are written alike so that readers parse them alike.
    private static void WriteSuspendedSite(Utf8JsonWriter json, string method, string awaitSite, string? sourcePath, int line, string waitTarget, int count, long oldestAgeMs)
    {
        json.WriteString("method", method);
        json.WriteString("awaitSite", awaitSite);
        WriteOptional(json, "sourcePath", sourcePath);
        json.WriteNumber("line", line);
        json.WriteString("waitTarget", waitTarget);
        json.WriteNumber("count", count);
        json.WriteNumber("oldestAgeMs", oldestAgeMs);
    }

    /// <summary>The schema's name for a frame kind: <c>awaitedBy</c>, <c>calledBy</c>, <c>startedBy</c>.</summary>
    internal static string KindName(AsyncStackFrameKind kind) => kind switch
    {
        AsyncStackFrameKind.AwaitedBy => "awaitedBy",
        AsyncStackFrameKind.CalledBy => "calledBy",
        _ => "startedBy",
    };

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteAsyncStack(Utf8JsonWriter json, IReadOnlyList<AsyncStackFrame> stack)
    {
        json.WriteStartArray("asyncStack");
        foreach (AsyncStackFrame frame in stack)
        {
            json.WriteStartObject();
            json.WriteString("kind", KindName(frame.Kind));
            json.WriteString("method", frame.Method);
            json.WriteString("location", frame.Location);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
