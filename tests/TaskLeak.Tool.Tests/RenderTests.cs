using System;
using System.Collections.Generic;
using System.Text.Json;
using NUnit.Framework;

namespace TaskLeak.Tool.Tests;

/// <summary>Text views built from reply documents shaped like the runtime's.</summary>
public sealed class RenderTests
{
    private static string Reply(string result, bool enabled = true, int sampleRate = 1) =>
        "{\"processId\":42,\"status\":\"ok\",\"options\":{\"enabled\":" + (enabled ? "true" : "false") + ",\"sampleRate\":" + sampleRate + "},\"result\":" + result + "}";

    private static string Group(string method, int count, long age = 10) =>
        "{\"method\":\"" + method + "\",\"awaitSite\":\"A.cs:1\",\"waitTarget\":\"t\",\"count\":" + count + ",\"oldestAgeMs\":" + age + "}";

    [Test]
    public void Monitor_shows_each_site_change_since_the_previous_refresh_and_sites_that_emptied()
    {
        string result = "{\"snapshot\":{\"totalCount\":8,\"groups\":[" + Group("N.Grow", 5) + "," + Group("N.New", 3) + "]}," +
            "\"growing\":{\"kind\":\"taskleak.growing\",\"sites\":[{\"method\":\"N.Grow\",\"awaitSite\":\"A.cs:1\",\"waitTarget\":\"t\",\"count\":5,\"increase\":4,\"sweeps\":5}]}," +
            "\"leakedTotal\":2,\"leaks\":[" + Group("N.Leak", 2) + "]}";
        using JsonDocument reply = JsonDocument.Parse(Reply(result));
        var previous = new Dictionary<string, int> { ["N.Grow (A.cs:1) waiting on t"] = 2, ["N.Gone (A.cs:1) waiting on t"] = 6 };
        var current = new Dictionary<string, int>();

        string text = Render.Monitor(reply.RootElement, previous, current, TimeSpan.FromSeconds(2), new DateTime(2026, 1, 1, 12, 0, 0));

        Assert.That(text, Does.StartWith("dotnet-taskleak monitor: process 42 at 12:00:00, every 2 s (Ctrl+C to stop)\n"));
        Assert.That(text, Does.Contain("suspended 8, leaked (proven) 2"));
        Assert.That(text, Does.Contain("         5        +3          10  N.Grow (A.cs:1) waiting on t"));
        Assert.That(text, Does.Contain("         3        +3          10  N.New (A.cs:1) waiting on t"));
        Assert.That(text, Does.Contain("         0        -6              N.Gone (A.cs:1) waiting on t"));
        Assert.That(text, Does.Contain("growing sites [suspected \u2014 still reachable]:\n  5 live, +4 over 5 sweeps  N.Grow"));
        Assert.That(text, Does.Contain("leaked [proven]:\n         2  N.Leak"));
        Assert.That(current, Is.EqualTo(new Dictionary<string, int> { ["N.Grow (A.cs:1) waiting on t"] = 5, ["N.New (A.cs:1) waiting on t"] = 3 }));
    }

    [Test]
    public void Sampled_and_dormant_tracking_are_labelled()
    {
        string snapshot = "{\"totalCount\":1,\"groups\":[" + Group("N.M", 1) + "]}";
        using JsonDocument sampled = JsonDocument.Parse(Reply(snapshot, sampleRate: 8));
        Assert.That(Render.Pending(sampled.RootElement), Does.Contain("sampled: 1 suspension in 8, so counts are of tracked operations (about 8\u00d7 as many in all)"));

        using JsonDocument dormant = JsonDocument.Parse(Reply(snapshot, enabled: false));
        Assert.That(Render.Pending(dormant.RootElement), Does.Contain("tracking off (dormant)"));
    }

    [Test]
    public void Leaks_are_labelled_when_counts_are_sampled_and_not_otherwise()
    {
        string report = "{\"totalCount\":2,\"overflowCount\":0,\"leaks\":[{\"method\":\"N.M\",\"awaitSite\":\"A.cs:1\",\"waitTarget\":\"t\",\"count\":2,\"chain\":\"N.M (A.cs:1)\",\"creationStack\":null}]}";
        using JsonDocument sampled = JsonDocument.Parse(Reply(report, sampleRate: 4));
        Assert.That(Render.Leaks(sampled.RootElement, detected: false), Does.Contain("sampled: 1 suspension in 4"));
        using JsonDocument all = JsonDocument.Parse(Reply(report));
        string text = Render.Leaks(all.RootElement, detected: true);
        Assert.That(text, Does.Not.Contain("tracking"));
        Assert.That(text, Does.Contain("     2 \u00d7 N.M (A.cs:1) waiting on t\n         chain: N.M (A.cs:1)\n"));
    }

    [Test]
    public void Ps_prints_each_async_stack_with_its_count_and_age_and_skips_a_lone_top_level_one()
    {
        string leaf = "{\"method\":\"N.Leaf\",\"awaitSite\":\"A.cs:1\",\"waitTarget\":\"t\",\"count\":3,\"oldestAgeMs\":50,\"stacks\":[" +
            "{\"count\":2,\"oldestAgeMs\":50,\"asyncStack\":[{\"kind\":\"awaitedBy\",\"method\":\"N.Mid\",\"location\":\"A.cs:9\"},{\"kind\":\"startedBy\",\"method\":\"Task.Run\",\"location\":\"P.cs:3\"}]}," +
            "{\"count\":1,\"oldestAgeMs\":7,\"asyncStack\":[]}]}";
        string top = "{\"method\":\"N.Top\",\"awaitSite\":\"B.cs:2\",\"waitTarget\":\"u\",\"count\":1,\"oldestAgeMs\":5,\"stacks\":[{\"count\":1,\"oldestAgeMs\":5,\"asyncStack\":[]}]}";
        using JsonDocument reply = JsonDocument.Parse(Reply("{\"totalCount\":4,\"groups\":[" + leaf + "," + top + "]}"));
        string text = Render.Pending(reply.RootElement);
        Assert.That(text, Does.Contain(
            "         3          50  N.Leaf (A.cs:1) waiting on t\n" +
            "                        2 with oldest 50 ms:\n" +
            "                          \u2190 awaited by N.Mid (A.cs:9)\n" +
            "                          \u2190 started by Task.Run (P.cs:3)\n" +
            "                        1 with oldest 7 ms (top level)\n" +
            "         1           5  N.Top (B.cs:2) waiting on u\n"));
        Assert.That(text, Does.EndWith("N.Top (B.cs:2) waiting on u\n"));
    }
}
