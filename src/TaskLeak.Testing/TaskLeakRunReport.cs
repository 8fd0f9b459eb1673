using System;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;

namespace TaskLeak.Testing;

/// <summary>
/// The end-of-run report: every leak proven in the test process, written by the adapter's assembly-level end-of-run
/// hook while the test host is still alive. (An exit hook is not enough: VSTest kills the host shortly after the
/// session ends, and work done on process exit is lost in some runs.)
/// </summary>
public static class TaskLeakRunReport
{
    /// <summary>
    /// The environment variable naming where to write the report as JSON: a file, or an existing directory (then
    /// <c>&lt;assembly&gt;.taskleak.json</c> inside it, one per test assembly). Unset: no file is written.
    /// </summary>
    public const string JsonPathVariable = "TASKLEAK_TEST_REPORT";

    /// <summary>How many tests began a leak check in this process; 0 when the process only discovered tests.</summary>
    public static int TestsChecked => TaskLeakTestCheck.Begun;

    /// <summary>
    /// Collects and sweeps the whole process, writes its proven leaks to <paramref name="output"/> and, when
    /// <paramref name="jsonPath"/> (or else <see cref="JsonPathVariable"/>) names a place, as JSON there.
    /// Never throws for a file it cannot write: it says so in the output instead.
    /// </summary>
    /// <param name="output">The test output the framework shows.</param>
    /// <param name="assemblyName">The test assembly, named in the report and in the file name for a directory.</param>
    /// <param name="jsonPath">Where to write the JSON; null reads <see cref="JsonPathVariable"/>.</param>
    /// <returns>The whole process's report.</returns>
    public static TaskLeakReport Write(TextWriter output, string assemblyName, string? jsonPath = null)
    {
        if (output is null)
        {
            throw new ArgumentNullException(nameof(output));
        }

        TaskLeakReport report = TaskLeakDetector.DetectNow();
        int pending = TaskLeakDetector.PendingCount;
        var text = new StringBuilder();
        text.Append("TaskLeak run report for ").Append(assemblyName).Append(": ")
            .Append(TestsChecked.ToString(CultureInfo.InvariantCulture)).Append(" test(s) checked, ")
            .Append(TaskLeakTestCheck.Failed.ToString(CultureInfo.InvariantCulture)).Append(" failed for leaks, ")
            .Append(TaskLeakTestCheck.Warned.ToString(CultureInfo.InvariantCulture)).Append(" warned; ")
            .Append(report.TotalCount.ToString(CultureInfo.InvariantCulture)).Append(" async operation(s) proven leaked in this process")
            .Append(" (including any that belong to no test), ")
            .Append(pending.ToString(CultureInfo.InvariantCulture)).Append(" still suspended.\n");
        if (!report.IsEmpty)
        {
            text.Append(report.ToString()).Append('\n');
        }

        jsonPath ??= Environment.GetEnvironmentVariable(JsonPathVariable);
        if (!string.IsNullOrWhiteSpace(jsonPath))
        {
            string file = Directory.Exists(jsonPath) ? Path.Combine(jsonPath, assemblyName + ".taskleak.json") : jsonPath;
            try
            {
                File.WriteAllText(file, ToJson(report, assemblyName, pending));
                text.Append("TaskLeak run report written to ").Append(file).Append('\n');
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                text.Append("TaskLeak run report could not be written to ").Append(file).Append(": ").Append(error.Message).Append('\n');
            }
        }

        output.Write(text.ToString());
        output.Flush();
        return report;
    }

    private static string ToJson(TaskLeakReport report, string assemblyName, int pending)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("assembly", assemblyName);
            json.WriteNumber("testsChecked", TestsChecked);
            json.WriteNumber("testsFailedForLeaks", TaskLeakTestCheck.Failed);
            json.WriteNumber("testsWarnedForLeaks", TaskLeakTestCheck.Warned);
            json.WriteNumber("pending", pending);
            json.WritePropertyName("report");
            json.WriteRawValue(report.ToJson());
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
