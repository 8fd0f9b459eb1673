using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace LeakCorpus.Harness;

/// <summary>
/// The event-27 pass in a process of its own (enabling the event changes every async method's box): the runner
/// re-launched with <see cref="Flag"/> writes one JSON line per scenario, read back here.
/// </summary>
public static class Event27Process
{
    /// <summary>The runner's command-line flag for the event-27 pass.</summary>
    public const string Flag = "--event27-pass";

    /// <summary>Runs the event-27 pass (the caller has enabled it) over <paramref name="cases"/>, one JSON line each on <paramref name="output"/>.</summary>
    public static void RunPass(IReadOnlyList<CorpusCase> cases, TextWriter output)
    {
        foreach (CorpusCase corpusCase in cases)
        {
            Event27Outcome outcome = Event27Pass.Run(corpusCase);
            output.WriteLine(JsonSerializer.Serialize(new Line(outcome.Compilation, outcome.Scenario, outcome.Events.ToArray(), outcome.OtherEvents, outcome.Error)));
            output.Flush();
        }
    }

    /// <summary>
    /// Launches <paramref name="runner"/> (the runner's .dll, run with the dotnet host, or its executable) with
    /// <see cref="Flag"/>, TaskLeak disabled in it (<c>TASKLEAK_ENABLED=0</c>: event 27 alone), and reads its outcomes.
    /// </summary>
    public static IReadOnlyList<Event27Outcome> Launch(string runner, string? filter, TimeSpan timeout)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (runner.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            start.FileName = DotnetHost();
            start.ArgumentList.Add(runner);
        }
        else
        {
            start.FileName = runner;
        }

        start.ArgumentList.Add(Flag);
        if (filter is not null)
        {
            start.ArgumentList.Add("--filter");
            start.ArgumentList.Add(filter);
        }

        start.Environment["TASKLEAK_ENABLED"] = "0";
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + runner);
        var stderr = process.StandardError.ReadToEndAsync();
        var outcomes = new List<Event27Outcome>();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The event-27 pass did not finish within " + timeout);
        }

        foreach (string text in stdout.Result.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('{')))
        {
            Line line = JsonSerializer.Deserialize<Line>(text) ?? throw new InvalidDataException("Unreadable line: " + text);
            outcomes.Add(new Event27Outcome(line.Compilation, line.Scenario, line.Events, line.OtherEvents, line.Error));
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("The event-27 pass exited with " + process.ExitCode + ": " + stderr.Result);
        }

        return outcomes;
    }

    private static string DotnetHost()
    {
        string? path = Environment.ProcessPath;
        return path is not null && Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? path
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
    }

    private sealed record Line(string Compilation, string Scenario, string[] Events, int OtherEvents, string? Error);
}
