using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using NUnit.Framework;

namespace TaskLeak.AspNetCore.Tests;

[NonParallelizable]
public class EndpointTests
{
    private const string Prefix = "TaskLeak.AspNetCore.Tests.Scenarios.";

    [SetUp]
    public void SetUp()
    {
        Scenarios.ReleaseHeld();
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
    }

    [TearDown]
    public void TearDown() => Scenarios.ReleaseHeld();

    [Test]
    public async Task Nothing_is_mapped_unless_MapTaskLeak_is_called()
    {
        await using Host host = await Host.StartAsync(app => app.MapGet("/", () => "hello"));
        foreach (string route in new[] { "/debug/taskleak", "/debug/taskleak/leaks", "/debug/taskleak/pending" })
        {
            HttpResponseMessage response = await host.Client.GetAsync(route);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), route);
        }
    }

    [Test]
    public async Task The_index_links_every_route_in_both_formats()
    {
        await using Host host = await Host.StartAsync(app => app.MapTaskLeak("/ops/taskleak"));
        HttpResponseMessage response = await host.Client.GetAsync("/ops/taskleak/");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/html"));
        string html = await response.Content.ReadAsStringAsync();
        foreach (string route in new[] { "/leaks", "/pending", "/stalled?minAge=1m", "/growing" })
        {
            Assert.That(html, Does.Contain("href=\"/ops/taskleak" + route + "\""), route);
            Assert.That(html, Does.Contain("href=\"/ops/taskleak" + route + (route.Contains('?') ? "&amp;" : "?") + "format=json\""), route);
        }
    }

    [Test]
    public async Task Leaks_without_detect_reports_what_is_proven_and_forces_nothing()
    {
        int detections = 0;
        await using Host host = await Host.StartAsync(app => app.MapTaskLeak(configure: o => o.Detect = () =>
        {
            Interlocked.Increment(ref detections);
            return TaskLeakDetector.DetectNow();
        }));
        HttpResponseMessage response = await host.Client.GetAsync("/debug/taskleak/leaks");
        Assert.That(response.Headers.GetValues("X-TaskLeak-Detection").Single(), Is.EqualTo("none"));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("TaskLeak: no leaks proven.\n"));
        Assert.That(detections, Is.Zero);
    }

    [Test]
    public async Task Leaks_with_detect_proves_the_dropped_operations_as_json_and_text()
    {
        await using Host host = await Host.StartAsync(app => app.MapTaskLeak());
        Scenarios.StartDropped(3);

        HttpResponseMessage response = await host.Client.GetAsync("/debug/taskleak/leaks?detect=true&format=json");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
        Assert.That(response.Headers.GetValues("X-TaskLeak-Detection").Single(), Is.EqualTo("ran"));
        using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.That(json.RootElement.GetProperty("kind").GetString(), Is.EqualTo("taskleak.report"));
        JsonElement leak = json.RootElement.GetProperty("leaks").EnumerateArray().Single(l => l.GetProperty("method").GetString() == Prefix + "DroppedAsync");
        Assert.That(leak.GetProperty("count").GetInt32(), Is.EqualTo(3));
        Assert.That(leak.GetProperty("awaitSite").GetString(), Does.StartWith("Scenarios.cs:"));

        string text = await host.Client.GetStringAsync("/debug/taskleak/leaks");
        Assert.That(text, Does.Contain(Prefix + "DroppedAsync"));
        Assert.That(text, Is.EqualTo(TaskLeakDetector.GetReport().ToString()));
    }

    [Test]
    public async Task Pending_lists_each_site_with_its_async_stack_and_age_and_filters_by_minAge()
    {
        await using Host host = await Host.StartAsync(app => app.MapTaskLeak());
        Scenarios.StartStuck();

        using JsonDocument json = JsonDocument.Parse(await host.Client.GetStringAsync("/debug/taskleak/pending?format=json"));
        Assert.That(json.RootElement.GetProperty("kind").GetString(), Is.EqualTo("taskleak.snapshot"));
        JsonElement inner = json.RootElement.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("method").GetString() == Prefix + "StuckInnerAsync");
        Assert.That(inner.GetProperty("count").GetInt32(), Is.EqualTo(1));
        Assert.That(inner.GetProperty("oldestAgeMs").GetInt64(), Is.GreaterThanOrEqualTo(0));
        JsonElement stack = inner.GetProperty("stacks").EnumerateArray().Single();
        JsonElement frame = stack.GetProperty("asyncStack").EnumerateArray().First();
        Assert.That(frame.GetProperty("kind").GetString(), Is.EqualTo("awaitedBy"));
        Assert.That(frame.GetProperty("method").GetString(), Is.EqualTo(Prefix + "StuckOuterAsync"));

        string text = await host.Client.GetStringAsync("/debug/taskleak/pending");
        Assert.That(text, Does.Contain(Prefix + "StuckInnerAsync"));
        Assert.That(text, Does.Contain("awaited by " + Prefix + "StuckOuterAsync (Scenarios.cs:"));

        using JsonDocument old = JsonDocument.Parse(await host.Client.GetStringAsync("/debug/taskleak/pending?format=json&minAge=1h"));
        Assert.That(old.RootElement.GetProperty("groups").EnumerateArray().Any(g => g.GetProperty("method").GetString()!.StartsWith(Prefix + "Stuck", StringComparison.Ordinal)), Is.False);
        HttpResponseMessage bad = await host.Client.GetAsync("/debug/taskleak/pending?minAge=soon");
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task Stalled_shows_the_stuck_operation_as_suspected_and_never_as_a_leak()
    {
        await using Host host = await Host.StartAsync(app => app.MapTaskLeak());
        Scenarios.StartStuck();

        using JsonDocument json = JsonDocument.Parse(await host.Client.GetStringAsync("/debug/taskleak/stalled?minAge=0&format=json"));
        Assert.That(json.RootElement.GetProperty("kind").GetString(), Is.EqualTo("taskleak.stalled"));
        Assert.That(json.RootElement.GetProperty("label").GetString(), Is.EqualTo(StalledOperationGroup.Label));
        JsonElement inner = json.RootElement.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("method").GetString() == Prefix + "StuckInnerAsync");
        Assert.That(inner.GetProperty("count").GetInt32(), Is.EqualTo(1));

        string text = await host.Client.GetStringAsync("/debug/taskleak/stalled?minAge=0ms");
        Assert.That(text, Does.Contain(Prefix + "StuckInnerAsync").And.Contain(StalledOperationGroup.Label));
        string none = await host.Client.GetStringAsync("/debug/taskleak/stalled?minAge=1h");
        Assert.That(none, Does.StartWith("TaskLeak: 0 site(s)"));

        using JsonDocument leaks = JsonDocument.Parse(await host.Client.GetStringAsync("/debug/taskleak/leaks?detect=true&format=json"));
        Assert.That(leaks.RootElement.GetProperty("leaks").EnumerateArray().Any(l => l.GetProperty("method").GetString()!.StartsWith(Prefix + "Stuck", StringComparison.Ordinal)), Is.False,
            "reachable: never proven");
    }

    [Test]
    public async Task Growing_reports_a_site_whose_count_keeps_rising()
    {
        TaskLeakOptions saved = TaskLeakDetector.Options;
        TaskLeakDetector.Configure(o =>
        {
            o.GrowingSiteSweeps = 2;
            o.GrowingSiteMinimumIncrease = 10;
        });
        try
        {
            await using Host host = await Host.StartAsync(app => app.MapTaskLeak());
            using JsonDocument empty = JsonDocument.Parse(await host.Client.GetStringAsync("/debug/taskleak/growing?format=json"));
            Assert.That(empty.RootElement.GetProperty("kind").GetString(), Is.EqualTo("taskleak.growing"));

            // Each wave adds operations and sweeps; equal counts (a background sweep in between) neither extend nor break a streak.
            for (int wave = 0; wave < 10 && !TaskLeakDetector.GetGrowingSites().Any(s => s.Method == Prefix + "GrowingAsync"); wave++)
            {
                Scenarios.StartGrowing(20);
                TaskLeakDetector.DetectNow();
            }

            using JsonDocument json = JsonDocument.Parse(await host.Client.GetStringAsync("/debug/taskleak/growing?format=json"));
            JsonElement site = json.RootElement.GetProperty("sites").EnumerateArray().Single(s => s.GetProperty("method").GetString() == Prefix + "GrowingAsync");
            Assert.That(site.GetProperty("increase").GetInt32(), Is.GreaterThanOrEqualTo(10));
            Assert.That(site.GetProperty("sweeps").GetInt32(), Is.GreaterThanOrEqualTo(2));
            Assert.That(site.GetProperty("count").GetInt32() % 20, Is.Zero);
            string text = await host.Client.GetStringAsync("/debug/taskleak/growing");
            Assert.That(text, Does.Contain(Prefix + "GrowingAsync").And.Contain("suspected"));
        }
        finally
        {
            TaskLeakDetector.Configure(o =>
            {
                o.GrowingSiteSweeps = saved.GrowingSiteSweeps;
                o.GrowingSiteMinimumIncrease = saved.GrowingSiteMinimumIncrease;
            });
        }
    }

    [Test]
    public async Task An_unknown_format_or_detect_value_is_a_bad_request()
    {
        await using Host host = await Host.StartAsync(app => app.MapTaskLeak());
        foreach (string route in new[] { "/debug/taskleak/leaks?format=xml", "/debug/taskleak/growing?format=yaml", "/debug/taskleak/leaks?detect=maybe" })
        {
            HttpResponseMessage response = await host.Client.GetAsync(route);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), route);
        }
    }

    [Test]
    public async Task Concurrent_detect_requests_share_one_detection_and_later_ones_are_rate_limited()
    {
        var time = new ManualTime();
        using var release = new ManualResetEventSlim(false);
        int detections = 0;
        TaskLeakEndpointOptions? options = null;
        await using Host host = await Host.StartAsync(app => app.MapTaskLeak(configure: o =>
        {
            options = o;
            o.MinimumDetectionInterval = TimeSpan.FromSeconds(30);
            o.TimeProvider = time;
            o.Detect = () =>
            {
                Interlocked.Increment(ref detections);
                release.Wait();
                return TaskLeakDetector.GetReport();
            };
        }));

        Task<HttpResponseMessage> first = host.Client.GetAsync("/debug/taskleak/leaks?detect=true");
        Assert.That(SpinWait.SpinUntil(() => options!.Gate!.Runs == 1, TimeSpan.FromSeconds(30)), "the first request started a detection");
        Task<HttpResponseMessage> second = host.Client.GetAsync("/debug/taskleak/leaks?detect=true&format=json");
        Assert.That(SpinWait.SpinUntil(() => options!.Gate!.Shared == 1, TimeSpan.FromSeconds(30)), "the second request joined it");
        Assert.That(first.IsCompleted || second.IsCompleted, Is.False, "both wait for the running detection");
        release.Set();

        HttpResponseMessage[] responses = await Task.WhenAll(first, second);
        Assert.That(responses.Select(r => r.Headers.GetValues("X-TaskLeak-Detection").Single()), Is.EqualTo(new[] { "ran", "shared" }));
        Assert.That(detections, Is.EqualTo(1));

        time.Advance(TimeSpan.FromSeconds(29));
        HttpResponseMessage limited = await host.Client.GetAsync("/debug/taskleak/leaks?detect=true");
        Assert.That(limited.Headers.GetValues("X-TaskLeak-Detection").Single(), Is.EqualTo("rate-limited"));
        Assert.That(limited.Headers.RetryAfter!.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(detections, Is.EqualTo(1));

        time.Advance(TimeSpan.FromSeconds(1));
        HttpResponseMessage again = await host.Client.GetAsync("/debug/taskleak/leaks?detect=true");
        Assert.That(again.Headers.GetValues("X-TaskLeak-Detection").Single(), Is.EqualTo("ran"));
        Assert.That(detections, Is.EqualTo(2));
    }

    [Test]
    public async Task RequireAuthorization_chains_onto_every_route()
    {
        await using Host host = await Host.StartAsync(app => app.MapTaskLeak().RequireAuthorization(), authentication: true);
        foreach (string route in new[] { "/debug/taskleak/", "/debug/taskleak/leaks", "/debug/taskleak/pending", "/debug/taskleak/stalled", "/debug/taskleak/growing" })
        {
            HttpResponseMessage anonymous = await host.Client.GetAsync(route);
            Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), route);

            using var request = new HttpRequestMessage(HttpMethod.Get, route);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "test-key");
            HttpResponseMessage authorized = await host.Client.SendAsync(request);
            Assert.That(authorized.StatusCode, Is.EqualTo(HttpStatusCode.OK), route);
        }
    }

    [Test]
    public async Task RequireHost_chains_too()
    {
        await using Host host = await Host.StartAsync(app => app.MapTaskLeak().RequireHost("admin.internal"));
        using var other = new HttpRequestMessage(HttpMethod.Get, "http://public.example/debug/taskleak/leaks");
        Assert.That((await host.Client.SendAsync(other)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        using var admin = new HttpRequestMessage(HttpMethod.Get, "http://admin.internal/debug/taskleak/leaks");
        Assert.That((await host.Client.SendAsync(admin)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("500ms", 500)]
    [TestCase("30s", 30_000)]
    [TestCase("5m", 300_000)]
    [TestCase("1h", 3_600_000)]
    [TestCase("2", 2_000)]
    [TestCase("0", 0)]
    public void Durations_parse_with_units(string text, long milliseconds)
    {
        Assert.That(Durations.TryParse(text, out TimeSpan value), Is.True);
        Assert.That((long)value.TotalMilliseconds, Is.EqualTo(milliseconds));
    }

    [TestCase("")]
    [TestCase("-1s")]
    [TestCase("soon")]
    [TestCase("5 days")]
    public void Durations_reject_nonsense(string text) => Assert.That(Durations.TryParse(text, out _), Is.False);
}
