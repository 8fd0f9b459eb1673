using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using System.Threading.Tasks;

namespace TaskLeak.Tool.Tests;

/// <summary>
/// A live woven process (tests/TaskLeak.Tool.TargetApp) started as <c>dotnet TaskLeak.Tool.TargetApp.dll</c>, driven over
/// standard input; killed on dispose.
/// </summary>
internal sealed class TargetProcess : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly Process _process;

    private TargetProcess(Process process) => _process = process;

    internal int Id => _process.Id;

    internal static string AppPath =>
        typeof(TargetProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TargetApp").Value!;

    internal static async Task<TargetProcess> StartAsync(string arguments, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet", "\"" + AppPath + "\" " + arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (KeyValuePair<string, string> pair in environment ?? new Dictionary<string, string>())
        {
            start.Environment[pair.Key] = pair.Value;
        }

        var target = new TargetProcess(Process.Start(start)!);
        string? ready = await target.ReadLineAsync();
        if (ready != "ready " + target.Id)
        {
            string error = await target._process.StandardError.ReadToEndAsync();
            target.Dispose();
            throw new InvalidOperationException($"the target app did not start: '{ready}' {error}");
        }

        return target;
    }

    /// <summary>Sends a command and waits for the app's <c>ok</c>.</summary>
    internal async Task SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        string? answer = await ReadLineAsync();
        if (answer != "ok")
        {
            throw new InvalidOperationException($"'{command}' answered '{answer}'");
        }
    }

    /// <summary>The app's own, in-process view: <c>TaskLeakDetector.Snapshot()</c> and <c>GetReport()</c> as JSON.</summary>
    internal async Task<JsonDocument> InProcessReportAsync()
    {
        string file = Path.Combine(Path.GetTempPath(), "taskleak-tool-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            await SendAsync("report " + file);
            return JsonDocument.Parse(await File.ReadAllTextAsync(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private async Task<string?> ReadLineAsync() => await _process.StandardOutput.ReadLineAsync().WaitAsync(Patience);
}
