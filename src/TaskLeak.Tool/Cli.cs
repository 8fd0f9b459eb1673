using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using TaskLeak.Diagnostics;

namespace TaskLeak.Tool;

/// <summary>The command line: <c>dotnet-taskleak &lt;command&gt; (-p PID | -n NAME) [--format json]</c>.</summary>
internal static class Cli
{
    /// <summary>Exit code of a usage error (bad arguments, no or ambiguous target).</summary>
    internal const int UsageError = 1;

    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool outputRedirected, CancellationToken cancellation)
    {
        var processId = new Option<int?>("--process-id", "-p") { Description = "The process to attach to.", Recursive = true };
        var name = new Option<string?>("--name", "-n")
        {
            Description = "The process to attach to, by name: its executable, or the app of `dotnet NAME.dll`.",
            Recursive = true,
        };
        var format = new Option<string>("--format")
        {
            Description = "Output: text or json (the runtime's JSON in a reply envelope).",
            DefaultValueFactory = _ => "text",
            Recursive = true,
        };
        format.AcceptOnlyFromAmong("text", "json");
        var timeout = new Option<string>("--timeout")
        {
            Description = "How long to wait for the answer (e.g. 10s, 500ms).",
            DefaultValueFactory = _ => "10s",
            Recursive = true,
        };
        timeout.Validators.Add(ValidateDuration);

        var detect = new Option<bool>("--detect")
        {
            Description = "Force a detection first (full blocking GCs in the target, then a sweep); without it, leaks proven so far.",
        };
        var minAge = new Option<string>("--min-age")
        {
            Description = "Report operations suspended at the same await for at least this long (e.g. 30s, 5m).",
            DefaultValueFactory = _ => "30s",
        };
        minAge.Validators.Add(ValidateDuration);
        var psMinAge = new Option<string>("--min-age")
        {
            Description = "Only operations suspended for at least this long (e.g. 5s; default: all).",
            DefaultValueFactory = _ => "0",
        };
        psMinAge.Validators.Add(ValidateDuration);
        var interval = new Option<string>("--interval") { Description = "Refresh interval.", DefaultValueFactory = _ => "2s" };
        interval.Validators.Add(ValidateDuration);
        var count = new Option<int?>("--count") { Description = "Stop after this many refreshes (default: until Ctrl+C)." };
        var rate = new Argument<int>("N") { Description = "Track one suspension in N (1: all)." };
        rate.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("N must be 1 or more.");
            }
        });

        var ps = new Command("ps", "Suspended async operations right now, by await site (reachable or not yet collected: none of them is a proven leak).") { psMinAge };
        var leaks = new Command("leaks", "Proven leaks: operations whose frames the GC collected while they were suspended.") { detect };
        var stalled = new Command("stalled", "Suspected, still reachable: operations stuck at the same await for --min-age or longer.") { minAge };
        var monitor = new Command("monitor", "A live view of sites, counts and their change, growing sites and proven leaks.") { interval, count };
        var enable = new Command("enable", "Turn tracking on: operations that suspend from now on are tracked (those already suspended are not).");
        var disable = new Command("disable", "Turn tracking off (dormant): one predictable branch per suspension; operations already tracked finish normally.");
        var sample = new Command("sample", "Track one suspension in N from now on (and turn nothing else on or off).") { rate };

        var root = new RootCommand("dotnet-taskleak: asks a running process woven by TaskLeak.Fody for its async operations, over the diagnostics channel.")
        {
            processId, name, format, timeout, ps, leaks, stalled, monitor, enable, disable, sample,
        };

        int Run(ParseResult parse, Func<Target, Task<int>> body)
        {
            int resolved = Resolve(parse.GetValue(processId), parse.GetValue(name), error, out int pid);
            if (resolved != 0)
            {
                return resolved;
            }

            Duration.TryParse(parse.GetValue(timeout)!, out TimeSpan wait);
            try
            {
                return body(new Target(pid, parse.GetValue(format) == "json", wait)).GetAwaiter().GetResult();
            }
            catch (RequestException e)
            {
                error.WriteLine("dotnet-taskleak: " + e.Message);
                return (int)e.Failure;
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                return 0;
            }
        }

        ps.SetAction(parse => Run(parse, async target =>
        {
            using JsonDocument reply = await Ask(target, CommandProtocol.Snapshot, MinAge(parse.GetValue(psMinAge)!)).ConfigureAwait(false);
            return Print(output, error, target, reply, r => Render.Pending(r));
        }));
        leaks.SetAction(parse => Run(parse, async target =>
        {
            bool force = parse.GetValue(detect);
            using JsonDocument reply = await Ask(target, CommandProtocol.Leaks, force ? new() { [CommandProtocol.DetectKey] = "true" } : null).ConfigureAwait(false);
            return Print(output, error, target, reply, r => Render.Leaks(r, force));
        }));
        stalled.SetAction(parse => Run(parse, async target =>
        {
            Duration.TryParse(parse.GetValue(minAge)!, out TimeSpan age);
            using JsonDocument reply = await Ask(target, CommandProtocol.Stalled, MinAge(parse.GetValue(minAge)!)).ConfigureAwait(false);
            return Print(output, error, target, reply, r => Render.Stalled(r, age));
        }));
        enable.SetAction(parse => Run(parse, target => Switch(output, error, target, CommandProtocol.Enable, null)));
        disable.SetAction(parse => Run(parse, target => Switch(output, error, target, CommandProtocol.Disable, null)));
        sample.SetAction(parse => Run(parse, target => Switch(output, error, target, CommandProtocol.Sample,
            new() { [CommandProtocol.SampleKey] = parse.GetValue(rate).ToString(CultureInfo.InvariantCulture) })));
        monitor.SetAction(parse => Run(parse, async target =>
        {
            Duration.TryParse(parse.GetValue(interval)!, out TimeSpan every);
            int? refreshes = parse.GetValue(count);
            Dictionary<string, int>? previous = null;
            for (int i = 0; refreshes is null || i < refreshes; i++)
            {
                if (i > 0)
                {
                    await Task.Delay(every, cancellation).ConfigureAwait(false);
                }

                using JsonDocument reply = await Ask(target, CommandProtocol.Monitor, null).ConfigureAwait(false);
                JsonElement root = reply.RootElement;
                if (!IsOk(root, error))
                {
                    return (int)RequestFailure.Failed;
                }

                if (target.Json)
                {
                    // One compact document per line (NDJSON), whatever the terminal.
                    output.WriteLine(Render.Json(root, indented: false));
                }
                else
                {
                    var current = new Dictionary<string, int>(StringComparer.Ordinal);
                    string view = Render.Monitor(root, previous, current, every, DateTime.Now);
                    // A terminal gets the view redrawn in place; redirected output gets one block per refresh.
                    output.Write(outputRedirected ? view + "\n" : "\u001b[H\u001b[2J" + view);
                    previous = current;
                }

                output.Flush();
            }

            return 0;
        }));

        async Task<JsonDocument> Ask(Target target, string command, Dictionary<string, string>? arguments) =>
            await TaskLeakClient.RequestAsync(target.Pid, command, arguments, target.Timeout, cancellation).ConfigureAwait(false);

        async Task<int> Switch(TextWriter o, TextWriter e, Target target, string command, Dictionary<string, string>? arguments)
        {
            using JsonDocument reply = await Ask(target, command, arguments).ConfigureAwait(false);
            return Print(o, e, target, reply, r => Render.Switched(r, command));
        }

        ParseResult result = root.Parse(args);
        int exitCode = await result.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellation).ConfigureAwait(false);
        return result.Errors.Count > 0 ? UsageError : exitCode;
    }

    private static int Print(TextWriter output, TextWriter error, Target target, JsonDocument reply, Func<JsonElement, string> text)
    {
        JsonElement root = reply.RootElement;
        if (!IsOk(root, error))
        {
            return (int)RequestFailure.Failed;
        }

        output.Write(target.Json ? Render.Json(root, indented: true) + "\n" : text(root));
        output.Flush();
        return 0;
    }

    private static bool IsOk(JsonElement reply, TextWriter error)
    {
        if (reply.GetProperty("status").GetString() == "ok")
        {
            return true;
        }

        error.WriteLine("dotnet-taskleak: process " + reply.GetProperty("processId").GetInt32().ToString(CultureInfo.InvariantCulture) +
            " refused the request: " + reply.GetProperty("error").GetString());
        return false;
    }

    /// <summary>0 with the target's id, or the exit code: usage error (none or both given, ambiguous name) or no such process.</summary>
    private static int Resolve(int? processId, string? name, TextWriter error, out int pid)
    {
        pid = 0;
        if (processId is not null == name is not null)
        {
            error.WriteLine("dotnet-taskleak: give the target process with exactly one of -p PID or -n NAME.");
            return UsageError;
        }

        if (processId is int id)
        {
            pid = id;
            return 0;
        }

        List<int> found = ProcessFinder.FindByName(name!);
        if (found.Count == 1)
        {
            pid = found[0];
            return 0;
        }

        if (found.Count == 0)
        {
            error.WriteLine($"dotnet-taskleak: no such process: no .NET process named '{name}' (checked the process name, the executable and `dotnet {name}.dll`).");
            return (int)RequestFailure.NoSuchProcess;
        }

        error.WriteLine($"dotnet-taskleak: {found.Count} processes are named '{name}' ({string.Join(", ", found)}): choose one with -p.");
        return UsageError;
    }

    private static void ValidateDuration(OptionResult result)
    {
        string? text = result.GetValueOrDefault<string>();
        if (text is null || !Duration.TryParse(text, out TimeSpan value) || value <= TimeSpan.Zero && result.Option.Name != "--min-age")
        {
            result.AddError($"{result.Option.Name}: '{text}' is not a duration (e.g. 500ms, 30s, 5m).");
        }
    }

    /// <summary>The <c>MinAge</c> argument in whole milliseconds (the option's validator has accepted the text).</summary>
    private static Dictionary<string, string> MinAge(string text)
    {
        Duration.TryParse(text, out TimeSpan age);
        return new() { [CommandProtocol.MinAgeKey] = ((long)age.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) };
    }

    private sealed record Target(int Pid, bool Json, TimeSpan Timeout);
}
