using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Xml.Linq;

namespace TaskLeak.Xunit.Tests;

/// <summary>
/// One run of TaskLeak.Xunit.Samples, an xUnit v3 test executable, by its own in-process runner with up to four
/// parallel collections: each test's result from the XML report, keyed <c>Class.Test</c>, and what the run wrote.
/// </summary>
internal sealed class SampleRun
{
    private const string Namespace = "TaskLeak.Xunit.Samples.";
    private static readonly Lazy<SampleRun> s_instance = new(Execute, System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);

    private SampleRun(Dictionary<string, Result> results, string output, string reportFile)
    {
        Results = results;
        Output = output;
        ReportFile = reportFile;
    }

    internal static SampleRun Instance => s_instance.Value;

    internal IReadOnlyDictionary<string, Result> Results { get; }

    /// <summary>What the samples process wrote to standard output and error.</summary>
    internal string Output { get; }

    /// <summary>The file TASKLEAK_TEST_REPORT named.</summary>
    internal string ReportFile { get; }

    internal Result this[string name] =>
        Results.TryGetValue(name, out Result? result) ? result : throw new KeyNotFoundException("No sample test " + name);

    /// <summary>The 1-based line of the first await in <paramref name="method"/> of the samples' Operations.cs.</summary>
    internal static int AwaitLine(string method, [CallerFilePath] string here = "")
    {
        string[] lines = File.ReadAllLines(Path.Combine(Path.GetDirectoryName(here)!, "..", "TaskLeak.Xunit.Samples", "Operations.cs"));
        int start = Array.FindIndex(lines, line => line.Contains(method + "(TaskCompletionSource<int>", StringComparison.Ordinal));
        int found = start < 0 ? -1 : Array.FindIndex(lines, start, line => line.Contains("await ", StringComparison.Ordinal));
        return found >= 0 ? found + 1 : throw new InvalidOperationException(method + " not found in Operations.cs");
    }

    private static SampleRun Execute()
    {
        string samples = typeof(SampleRun).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Samples").Value!;
        string work = Directory.CreateTempSubdirectory("taskleak-xunit-").FullName;
        string xml = Path.Combine(work, "results.xml");
        string report = Path.Combine(work, "run-report.json");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(samples);
        start.ArgumentList.Add("-xml");
        start.ArgumentList.Add(xml);
        start.ArgumentList.Add("-noColor");
        start.Environment["TASKLEAK_TEST_REPORT"] = report;

        using Process process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill();
            throw new TimeoutException("the samples did not finish in five minutes\n" + output);
        }

        output += error.Result;
        if (!File.Exists(xml))
        {
            throw new InvalidOperationException("the samples wrote no results (exit code " + process.ExitCode + ")\n" + output);
        }

        var results = new Dictionary<string, Result>();
        foreach (XElement test in XDocument.Load(xml).Descendants("test"))
        {
            string name = (string)test.Attribute("name")!;
            name = name.StartsWith(Namespace, StringComparison.Ordinal) ? name.Substring(Namespace.Length) : name;
            results.Add(name, new Result(
                (string)test.Attribute("result")!,
                (string?)test.Element("failure")?.Element("message") ?? "",
                test.Descendants("warning").Select(w => w.Value).ToArray()));
        }

        return new SampleRun(results, output, report);
    }

    /// <summary>One sample's outcome: Pass, Fail or Skip; the failure message; the warnings.</summary>
    internal sealed record Result(string Outcome, string Message, string[] Warnings);
}
