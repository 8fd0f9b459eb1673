using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TaskLeak.Reporting;

/// <summary>The JSON report, schema version 1 (documented in the README).</summary>
internal static class ReportJson
{
    internal const int SchemaVersion = 1;

    internal static string Format(TaskLeakReport report)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", SchemaVersion);
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
                json.WriteNumber("ageMs", group.AgeMilliseconds);
                json.WriteString("detail", group.Detail);
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
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
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
