using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using TaskLeak.Diagnostics;

namespace TaskLeak.Tool.Tests;

/// <summary>
/// dotnet-taskleak against a live woven child process, over the real diagnostics channel: what the tool prints must be
/// what the process reports about itself in-process.
/// </summary>
[NonParallelizable]
public sealed class EndToEndTests
{
    private const string App = "TaskLeak.Tool.TargetApp.Program.";

    [Test]
    public async Task Leaks_and_ps_give_the_sites_and_counts_of_the_process_own_report()
    {
        // 7 reachable, 5 leaked, and one leak started 300 calls deep: its creation stack needs several reply chunks.
        using TargetProcess target = await TargetProcess.StartAsync("7 5 300");

        (int code, string json, _) = await Tool("leaks", "--detect", "-p", target.Id.ToString(), "--format", "json");
        Assert.That(code, Is.Zero);
        Assert.That(json.Length, Is.GreaterThan(2 * CommandProtocol.MaxChunkChars), "the reply came in several chunks");
        using JsonDocument leaks = JsonDocument.Parse(json);
        JsonElement report = leaks.RootElement.GetProperty("result");
        Assert.That(Sites(report.GetProperty("leaks")), Is.EquivalentTo(new[] { (App + "LeakAsync", 5), (App + "DeepLeakAsync", 1) }));
        JsonElement deep = report.GetProperty("leaks").EnumerateArray().Single(g => g.GetProperty("method").GetString() == App + "DeepLeakAsync");
        Assert.That(CountOf(deep.GetProperty("creationStack").GetString()!, "StartDeepLeak"), Is.GreaterThanOrEqualTo(300));

        using JsonDocument own = await target.InProcessReportAsync();
        Assert.That(Sites(report.GetProperty("leaks")), Is.EquivalentTo(Sites(own.RootElement.GetProperty("report").GetProperty("leaks"))));
        Assert.That(report.GetProperty("totalCount").GetInt64(), Is.EqualTo(own.RootElement.GetProperty("report").GetProperty("totalCount").GetInt64()));

        (code, json, _) = await Tool("ps", "-p", target.Id.ToString(), "--format", "json");
        Assert.That(code, Is.Zero);
        using JsonDocument ps = JsonDocument.Parse(json);
        JsonElement groups = ps.RootElement.GetProperty("result").GetProperty("groups");
        Assert.That(Sites(groups), Is.EqualTo(new[] { (App + "WaitForGateAsync", 7) }), "leaked operations left the pending set once proven");
        Assert.That(Sites(groups), Is.EqualTo(Sites(own.RootElement.GetProperty("snapshot").GetProperty("groups"))));

        (code, string text, _) = await Tool("ps", "-p", target.Id.ToString());
        Assert.That(code, Is.Zero);
        Assert.That(text, Does.StartWith($"Process {target.Id}: 7 suspended async operation(s) at 1 site(s); tracking on, every operation"));
        Assert.That(text, Does.Contain($"         7").And.Contain(App + "WaitForGateAsync (Program.cs:"));

        (code, text, _) = await Tool("leaks", "-p", target.Id.ToString());
        Assert.That(code, Is.Zero);
        Assert.That(text, Does.StartWith($"Process {target.Id}: 6 leaked async operation(s) at 2 site(s) (proven"));
        Assert.That(text, Does.Contain("     5 \u00d7 " + App + "LeakAsync (Program.cs:"));
    }

    [Test]
    public async Task Ps_prints_the_logical_async_stack_of_a_known_chain_as_the_process_sees_it()
    {
        using TargetProcess target = await TargetProcess.StartAsync("2 0");
        await target.SendAsync("chain 3");
        string pid = target.Id.ToString();

        (int code, string json, _) = await Tool("ps", "-p", pid, "--format", "json");
        Assert.That(code, Is.Zero);
        using JsonDocument ps = JsonDocument.Parse(json);
        JsonElement inner = Group(ps.RootElement.GetProperty("result").GetProperty("groups"), App + "InnerChainAsync");
        Assert.That(inner.GetProperty("count").GetInt32(), Is.EqualTo(3));
        JsonElement stack = inner.GetProperty("stacks").EnumerateArray().Single();
        Assert.That(stack.GetProperty("count").GetInt32(), Is.EqualTo(3));
        Assert.That(Frames(stack), Is.EqualTo(new[] { ("awaitedBy", App + "MiddleChainAsync"), ("awaitedBy", App + "OuterChainAsync") }));

        using JsonDocument own = await target.InProcessReportAsync();
        JsonElement ownInner = Group(own.RootElement.GetProperty("snapshot").GetProperty("groups"), App + "InnerChainAsync");
        Assert.That(Frames(stack), Is.EqualTo(Frames(ownInner.GetProperty("stacks").EnumerateArray().Single())));

        (code, string text, _) = await Tool("ps", "-p", pid);
        Assert.That(code, Is.Zero);
        Assert.That(text, Does.Match(@"\n {9}3 +\d+  " + System.Text.RegularExpressions.Regex.Escape(App + "InnerChainAsync (Program.cs:") + @"\d+\) waiting on TaskCompletionSource<int>\.Task\n" +
            @" {24}3 with oldest \d+ ms:\n" +
            @" {26}\u2190 awaited by " + System.Text.RegularExpressions.Regex.Escape(App + "MiddleChainAsync (Program.cs:") + @"\d+\)\n" +
            @" {26}\u2190 awaited by " + System.Text.RegularExpressions.Regex.Escape(App + "OuterChainAsync (Program.cs:") + @"\d+\)\n"));
        Assert.That(text, Does.Match(System.Text.RegularExpressions.Regex.Escape(App + "WaitForGateAsync (Program.cs:") + @"\d+\) waiting on TaskCompletionSource<int>\.Task\n(?! {24})"),
            "a site whose operations all run at top level gets no stack lines");

        (code, json, _) = await Tool("ps", "--min-age", "1h", "-p", pid, "--format", "json");
        Assert.That(code, Is.Zero);
        using JsonDocument old = JsonDocument.Parse(json);
        Assert.That(old.RootElement.GetProperty("result").GetProperty("totalCount").GetInt32(), Is.Zero, "none has been suspended for an hour");
    }

    [Test]
    public async Task Leaks_without_detect_reports_only_what_is_proven_and_forces_nothing()
    {
        using TargetProcess target = await TargetProcess.StartAsync("2 4");
        (int code, string json, _) = await Tool("leaks", "-p", target.Id.ToString(), "--format", "json");
        Assert.That(code, Is.Zero);
        using JsonDocument leaks = JsonDocument.Parse(json);
        using JsonDocument own = await target.InProcessReportAsync();
        Assert.That(Sites(leaks.RootElement.GetProperty("result").GetProperty("leaks")),
            Is.EquivalentTo(Sites(own.RootElement.GetProperty("report").GetProperty("leaks"))));
    }

    [Test]
    public async Task Stalled_lists_reachable_operations_older_than_min_age()
    {
        using TargetProcess target = await TargetProcess.StartAsync("7 5");
        Assert.That((await Tool("leaks", "--detect", "-p", target.Id.ToString())).Code, Is.Zero);

        (int code, string json, _) = await Tool("stalled", "--min-age", "0", "-p", target.Id.ToString(), "--format", "json");
        Assert.That(code, Is.Zero);
        using JsonDocument stalled = JsonDocument.Parse(json);
        Assert.That(Sites(stalled.RootElement.GetProperty("result").GetProperty("groups")), Is.EqualTo(new[] { (App + "WaitForGateAsync", 7) }));
        Assert.That(stalled.RootElement.GetProperty("result").GetProperty("totalCount").GetInt32(), Is.EqualTo(7));

        (code, string text, _) = await Tool("stalled", "--min-age", "1h", "-p", target.Id.ToString());
        Assert.That(code, Is.Zero);
        Assert.That(text, Does.StartWith($"Process {target.Id}: 0 operation(s) at 0 site(s) suspended at the same await for 60 min or more [suspected"));
    }

    [Test]
    public async Task Enable_tracks_only_operations_that_suspend_afterwards_and_disable_stops_new_ones()
    {
        // Shipped dormant: the 7 reachable and 5 leaked operations suspend before tracking is on.
        using TargetProcess target = await TargetProcess.StartAsync("7 5", new Dictionary<string, string> { ["TASKLEAK_ENABLED"] = "false" });
        string pid = target.Id.ToString();

        (int code, string text, _) = await Tool("ps", "-p", pid);
        Assert.That(code, Is.Zero);
        Assert.That(text, Does.StartWith($"Process {pid}: 0 suspended async operation(s) at 0 site(s); tracking off (dormant)"));

        (code, text, _) = await Tool("enable", "-p", pid);
        Assert.That(code, Is.Zero);
        Assert.That(text, Does.Contain("tracking on").And.Contain("already suspended before tracking was on are not tracked"));

        await target.SendAsync("spawn 3");
        (code, string json, _) = await Tool("ps", "-p", pid, "--format", "json");
        using (JsonDocument ps = JsonDocument.Parse(json))
        {
            Assert.That(Sites(ps.RootElement.GetProperty("result").GetProperty("groups")), Is.EqualTo(new[] { (App + "SpawnedLaterAsync", 3) }));
        }

        // The five leaks happened before tracking: a remote enable cannot make them (or anything) proven.
        (code, json, _) = await Tool("leaks", "--detect", "-p", pid, "--format", "json");
        using (JsonDocument leaks = JsonDocument.Parse(json))
        {
            Assert.That(leaks.RootElement.GetProperty("result").GetProperty("totalCount").GetInt64(), Is.Zero);
        }

        (code, json, _) = await Tool("sample", "4", "-p", pid, "--format", "json");
        Assert.That(code, Is.Zero);
        using (JsonDocument sample = JsonDocument.Parse(json))
        {
            Assert.That(sample.RootElement.GetProperty("options").GetProperty("sampleRate").GetInt32(), Is.EqualTo(4));
            Assert.That(sample.RootElement.GetProperty("options").GetProperty("enabled").GetBoolean(), Is.True);
        }

        (code, text, _) = await Tool("ps", "-p", pid);
        Assert.That(text, Does.Contain("sampled: 1 suspension in 4"));

        (code, text, _) = await Tool("disable", "-p", pid);
        Assert.That(code, Is.Zero);
        Assert.That(text, Does.Contain("tracking off (dormant)"));
        await target.SendAsync("spawn 2");
        (code, json, _) = await Tool("ps", "-p", pid, "--format", "json");
        using (JsonDocument ps = JsonDocument.Parse(json))
        {
            Assert.That(Sites(ps.RootElement.GetProperty("result").GetProperty("groups")), Is.EqualTo(new[] { (App + "SpawnedLaterAsync", 3) }),
                "operations tracked before the switch stay tracked; new ones are not");
        }
    }

    [Test]
    public async Task Name_finds_a_process_started_as_dotnet_NAME_dll()
    {
        using TargetProcess target = await TargetProcess.StartAsync("3 0");
        (int code, string json, _) = await Tool("ps", "-n", "TaskLeak.Tool.TargetApp", "--format", "json");
        Assert.That(code, Is.Zero);
        using JsonDocument ps = JsonDocument.Parse(json);
        Assert.That(ps.RootElement.GetProperty("processId").GetInt32(), Is.EqualTo(target.Id));
        Assert.That(Sites(ps.RootElement.GetProperty("result").GetProperty("groups")), Is.EqualTo(new[] { (App + "WaitForGateAsync", 3) }));
    }

    [Test]
    public async Task Monitor_refreshes_count_times_in_text_and_json()
    {
        using TargetProcess target = await TargetProcess.StartAsync("4 0");
        string pid = target.Id.ToString();
        (int code, string text, _) = await Tool("monitor", "-p", pid, "--interval", "100ms", "--count", "2");
        Assert.That(code, Is.Zero);
        Assert.That(CountOf(text, $"dotnet-taskleak monitor: process {pid} at "), Is.EqualTo(2));
        Assert.That(text, Does.Not.Contain("\u001b["), "redirected output is not redrawn in place");
        string site = System.Text.RegularExpressions.Regex.Escape(App + "WaitForGateAsync");
        Assert.That(System.Text.RegularExpressions.Regex.Matches(text, @"^ {9}4 {11,}\d+  " + site, System.Text.RegularExpressions.RegexOptions.Multiline), Has.Count.EqualTo(1),
            "the first refresh has no change column");
        Assert.That(System.Text.RegularExpressions.Regex.Matches(text, @"^ {9}4 {9}0 +\d+  " + site, System.Text.RegularExpressions.RegexOptions.Multiline), Has.Count.EqualTo(1),
            "the second refresh shows no change");

        (code, string json, _) = await Tool("monitor", "-p", pid, "--interval", "100ms", "--count", "2", "--format", "json");
        Assert.That(code, Is.Zero);
        string[] lines = json.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        foreach (string line in lines)
        {
            using JsonDocument refresh = JsonDocument.Parse(line);
            JsonElement result = refresh.RootElement.GetProperty("result");
            Assert.That(result.GetProperty("kind").GetString(), Is.EqualTo("taskleak.monitor"));
            Assert.That(Sites(result.GetProperty("snapshot").GetProperty("groups")), Is.EqualTo(new[] { (App + "WaitForGateAsync", 4) }));
        }
    }

    [Test]
    public async Task Monitor_stops_cleanly_with_exit_code_0_when_cancelled()
    {
        using TargetProcess target = await TargetProcess.StartAsync("2 0");
        using var cancellation = new CancellationTokenSource();
        // What Ctrl+C does (Program cancels the token): here, as soon as the first refresh is written.
        var output = new CancelOnWrite(cancellation, "dotnet-taskleak monitor:");
        var error = new StringWriter();
        int code = await Cli.RunAsync(new[] { "monitor", "-p", target.Id.ToString(), "--interval", "1h" }, output, error, true, cancellation.Token)
            .WaitAsync(TimeSpan.FromSeconds(120));
        Assert.That(code, Is.Zero, error.ToString());
        Assert.That(CountOf(output.ToString(), "dotnet-taskleak monitor:"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_process_without_TaskLeak_is_a_clear_error_with_exit_code_3()
    {
        using TargetProcess plain = await TargetProcess.StartAsync("plain");
        (int code, string output, string error) = await Tool("ps", "-p", plain.Id.ToString(), "--timeout", "2s");
        Assert.That(code, Is.EqualTo(3));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain($"process {plain.Id} did not answer as TaskLeak within 2 s"));
    }

    [Test]
    public async Task A_missing_process_is_a_clear_error_with_exit_code_2()
    {
        int gone;
        using (var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            await exited.WaitForExitAsync();
            gone = exited.Id;
        }

        (int code, _, string error) = await Tool("ps", "-p", gone.ToString());
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain($"no such process: {gone}"));

        (code, _, error) = await Tool("leaks", "-n", "NoSuchApp" + Guid.NewGuid().ToString("N"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("no such process: no .NET process named"));
    }

    [TestCase(new[] { "ps" }, "exactly one of -p PID or -n NAME")]
    [TestCase(new[] { "ps", "-p", "1", "-n", "x" }, "exactly one of -p PID or -n NAME")]
    [TestCase(new[] { "stalled", "-p", "1", "--min-age", "soon" }, "'soon' is not a duration")]
    [TestCase(new[] { "sample", "0", "-p", "1" }, "N must be 1 or more")]
    [TestCase(new[] { "ps", "-p", "1", "--format", "xml" }, "xml")]
    [TestCase(new[] { "frobnicate" }, "frobnicate")]
    public async Task Usage_errors_exit_with_1(string[] args, string message)
    {
        (int code, _, string error) = await Tool(args);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain(message));
    }

    private sealed class CancelOnWrite(CancellationTokenSource cancellation, string marker) : StringWriter
    {
        public override void Write(string? value)
        {
            base.Write(value);
            if (value is not null && value.Contains(marker, StringComparison.Ordinal))
            {
                cancellation.Cancel();
            }
        }
    }

    private static async Task<(int Code, string Output, string Error)> Tool(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await Cli.RunAsync(args, output, error, outputRedirected: true, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(120));
        return (code, output.ToString(), error.ToString());
    }

    private static List<(string Method, int Count)> Sites(JsonElement groups) =>
        groups.EnumerateArray().Select(g => (g.GetProperty("method").GetString()!, g.GetProperty("count").GetInt32())).OrderBy(s => s.Item1).ToList();

    private static JsonElement Group(JsonElement groups, string method) =>
        groups.EnumerateArray().Single(g => g.GetProperty("method").GetString() == method);

    private static List<(string Kind, string Method)> Frames(JsonElement stack) =>
        stack.GetProperty("asyncStack").EnumerateArray().Select(f => (f.GetProperty("kind").GetString()!, f.GetProperty("method").GetString()!)).ToList();

    private static int CountOf(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
