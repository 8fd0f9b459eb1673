using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using TaskLeak.Benchmarks.Modes;

namespace TaskLeak.Benchmarks.Quick;

/// <summary>Starts this program again as a worker in a given mode and reads back its report.</summary>
internal static class ChildProcess
{
    internal static (WorkerReport Report, TimeSpan Elapsed) RunWorker(string worker, BenchMode mode, bool small)
    {
        string output = Path.Combine(Path.GetTempPath(), $"taskleak-bench-{Environment.ProcessId}-{worker}-{mode}.json");
        File.Delete(output);
        var start = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Started as 'dotnet TaskLeak.Benchmarks.dll' or as the apphost: start the worker the same way.
        if (Path.GetFileNameWithoutExtension(start.FileName).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        }

        foreach (string argument in new List<string> { "--worker", worker, "--out", output })
        {
            start.ArgumentList.Add(argument);
        }

        if (small)
        {
            start.ArgumentList.Add("--small");
        }

        start.Environment[ProcessMode.Variable] = mode.ToString();
        long began = Stopwatch.GetTimestamp();
        using Process process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        TimeSpan elapsed = Stopwatch.GetElapsedTime(began);
        if (!File.Exists(output))
        {
            var failed = new WorkerReport { Worker = worker, Mode = mode.ToString() };
            failed.Failures.Add($"worker {worker} ({mode}) exited with {process.ExitCode} and no report: {Tail(stderr + stdout.Result)}");
            return (failed, elapsed);
        }

        WorkerReport report = WorkerReport.Load(output);
        File.Delete(output);
        return (report, elapsed);
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : "..." + text[^2000..];
}
