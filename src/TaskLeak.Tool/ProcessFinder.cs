using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Diagnostics.NETCore.Client;

namespace TaskLeak.Tool;

/// <summary>Finds the target process by name among the .NET processes that publish a diagnostics channel.</summary>
internal static class ProcessFinder
{
    /// <summary>The process ids whose name is <paramref name="name"/>, this process excluded.</summary>
    internal static List<int> FindByName(string name)
    {
        var found = new List<int>();
        int self = Environment.ProcessId;
        foreach (int pid in DiagnosticsClient.GetPublishedProcesses())
        {
            if (pid != self && Matches(name, Describe(pid)))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    internal static bool Exists(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            return Directory.Exists("/proc/" + pid);
        }

        try
        {
            using Process process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// How a process can be named: its process name (<c>comm</c> on Linux), its executable, and the app it runs
    /// (<c>dotnet MyApp.dll</c> runs <c>MyApp</c>: the host's name is <c>dotnet</c>, so the command line is read too).
    /// </summary>
    internal static ProcessNames Describe(int pid)
    {
        string? processName = null;
        string? executable = null;
        IReadOnlyList<string> arguments = Array.Empty<string>();
        if (OperatingSystem.IsLinux())
        {
            processName = TryRead(() => File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n'));
            executable = TryRead(() => new FileInfo($"/proc/{pid}/exe").LinkTarget);
            arguments = TryRead(() => File.ReadAllText($"/proc/{pid}/cmdline", Encoding.UTF8)
                .Split('\0', StringSplitOptions.RemoveEmptyEntries)) ?? Array.Empty<string>();
        }

        if (processName is null || executable is null)
        {
            try
            {
                using Process process = Process.GetProcessById(pid);
                processName ??= process.ProcessName;
                executable ??= TryRead(() => process.MainModule?.FileName);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone or not ours to inspect: it simply does not match.
            }
        }

        return new ProcessNames(processName, executable, arguments);
    }

    /// <summary>Whether <paramref name="name"/> (with or without <c>.dll</c>/<c>.exe</c>) names the process.</summary>
    internal static bool Matches(string name, ProcessNames process)
    {
        string wanted = StripExtension(name);
        if (Same(process.ProcessName, wanted) || Same(StripExtension(Path.GetFileName(process.Executable ?? "")), wanted))
        {
            return true;
        }

        // The muxer: dotnet [host options] [exec] App.dll ... — the app is the first .dll argument.
        IReadOnlyList<string> argv = process.Arguments;
        string host = StripExtension(Path.GetFileName(process.Executable ?? (argv.Count > 0 ? argv[0] : "")));
        if (!string.Equals(host, "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        for (int i = 1; i < argv.Count; i++)
        {
            string argument = argv[i];
            if (argument.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            {
                return Same(StripExtension(Path.GetFileName(argument)), wanted);
            }
        }

        return false;
    }

    private static bool Same(string? a, string b) => a is not null && a.Length > 0 && string.Equals(a, b, StringComparison.Ordinal);

    private static string StripExtension(string name) =>
        name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".exe", StringComparison.OrdinalIgnoreCase)
            ? name.Substring(0, name.Length - 4)
            : name;

    private static T? TryRead<T>(Func<T?> read)
        where T : class
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}

/// <summary>The names a process goes by.</summary>
internal sealed record ProcessNames(string? ProcessName, string? Executable, IReadOnlyList<string> Arguments);
