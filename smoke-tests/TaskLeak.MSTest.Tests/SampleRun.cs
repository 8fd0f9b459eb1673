using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Xml.Linq;

namespace TaskLeak.MSTest.Tests;

/// <summary>
/// One run of TaskLeak.MSTest.Samples by dotnet test (VSTest and MSTest's adapter, method-level parallelism with four
/// workers) in a process of its own: each test's result from the TRX report, keyed by test name.
/// </summary>
internal sealed class SampleRun
{
    private static readonly XNamespace s_trx = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
    private static readonly Lazy<SampleRun> s_instance = new(Execute, System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);

    private SampleRun(Dictionary<string, Result> results, string reportFile)
    {
        Results = results;
        ReportFile = reportFile;
    }

    internal static SampleRun Instance => s_instance.Value;

    internal IReadOnlyDictionary<string, Result> Results { get; }

    /// <summary>The file TASKLEAK_TEST_REPORT named.</summary>
    internal string ReportFile { get; }

    internal Result this[string name] =>
        Results.TryGetValue(name, out Result? result) ? result : throw new KeyNotFoundException("No sample test " + name);

    /// <summary>The 1-based line of the first await in <paramref name="method"/> of the samples' Operations.cs.</summary>
    internal static int AwaitLine(string method, [CallerFilePath] string here = "")
    {
        string[] lines = File.ReadAllLines(Path.Combine(Path.GetDirectoryName(here)!, "..", "TaskLeak.MSTest.Samples", "Operations.cs"));
        int start = Array.FindIndex(lines, line => line.Contains(method + "(TaskCompletionSource<int>", StringComparison.Ordinal));
        int found = start < 0 ? -1 : Array.FindIndex(lines, start, line => line.Contains("await ", StringComparison.Ordinal));
        return found >= 0 ? found + 1 : throw new InvalidOperationException(method + " not found in Operations.cs");
    }

    private static SampleRun Execute()
    {
        string samples = typeof(SampleRun).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Samples").Value!;
        string work = Directory.CreateTempSubdirectory("taskleak-mstest-").FullName;
        string report = Path.Combine(work, "run-report.json");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "test", samples, "--logger", "trx;LogFileName=results.trx", "--results-directory", work })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["TASKLEAK_TEST_REPORT"] = report;
        using Process process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the samples did not finish in five minutes\n" + output);
        }

        string trx = Path.Combine(work, "results.trx");
        if (!File.Exists(trx))
        {
            throw new InvalidOperationException("the samples wrote no results (exit code " + process.ExitCode + ")\n" + output + error.Result);
        }

        var results = new Dictionary<string, Result>();
        foreach (XElement result in XDocument.Load(trx).Descendants(s_trx + "UnitTestResult"))
        {
            results.Add((string)result.Attribute("testName")!, new Result(
                (string)result.Attribute("outcome")!,
                (string?)result.Descendants(s_trx + "Message").FirstOrDefault() ?? "",
                (string?)result.Descendants(s_trx + "StdOut").FirstOrDefault() ?? ""));
        }

        return new SampleRun(results, report);
    }

    /// <summary>One sample's outcome (Passed, Failed), its error message and its output.</summary>
    internal sealed record Result(string Outcome, string Message, string Output);
}
