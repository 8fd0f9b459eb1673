using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text.Json;
using NUnit.Framework;
using TaskLeak.CompilerServices;

namespace TaskLeak.Tests;

/// <summary>The JSON documents parse back to exactly what the report objects say, field by field, as the README's schema lists them.</summary>
public class ReportJsonTests : DetectorTest
{
    private int? _s_sites;

    private int s_sites => _s_sites ??= TestSites.Register(D, "Json", 4);

    private static readonly string[] s_reportFields = { "schemaVersion", "kind", "totalCount", "overflowCount", "leaks" };

    private static readonly string[] s_leakFields =
    {
        "method", "awaitSite", "sourcePath", "line", "waitTarget", "count", "awaiterCount", "ageMs", "detail", "chain",
        "asyncStack", "awaitedBy", "startedBy", "creationStack",
    };


    [Test]
    public void The_report_round_trips_through_the_documented_schema()
    {
        StartChain();
        TestSites.DropFrame(D, s_sites + 3);
        TestSites.DropFrame(D, s_sites + 3);
        TaskLeakReport report = D.DetectNow();
        Assert.That(report.Leaks, Has.Count.EqualTo(2));

        using JsonDocument json = JsonDocument.Parse(report.ToJson());
        JsonElement root = json.RootElement;

        Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(s_reportFields));
        Assert.That(root.GetProperty("schemaVersion").GetInt32(), Is.EqualTo(1));
        Assert.That(root.GetProperty("kind").GetString(), Is.EqualTo("taskleak.report"));
        Assert.That(root.GetProperty("totalCount").GetInt64(), Is.EqualTo(report.TotalCount));
        Assert.That(root.GetProperty("overflowCount").GetInt64(), Is.EqualTo(report.OverflowCount));
        JsonElement[] leaks = root.GetProperty("leaks").EnumerateArray().ToArray();
        Assert.That(leaks, Has.Length.EqualTo(report.Leaks.Count));
        for (int i = 0; i < leaks.Length; i++)
        {
            TaskLeakGroup group = report.Leaks[i];
            JsonElement leak = leaks[i];
            Assert.That(leak.EnumerateObject().Select(p => p.Name), Is.EqualTo(s_leakFields));
            Assert.That(leak.GetProperty("method").GetString(), Is.EqualTo(group.Method));
            Assert.That(leak.GetProperty("awaitSite").GetString(), Is.EqualTo(group.AwaitSite));
            Assert.That(NullableString(leak.GetProperty("sourcePath")), Is.EqualTo(group.SourcePath));
            Assert.That(leak.GetProperty("line").GetInt32(), Is.EqualTo(group.Line));
            Assert.That(leak.GetProperty("waitTarget").GetString(), Is.EqualTo(group.WaitTarget));
            Assert.That(leak.GetProperty("count").GetInt32(), Is.EqualTo(group.Count));
            Assert.That(leak.GetProperty("awaiterCount").GetInt32(), Is.EqualTo(group.AwaiterCount));
            Assert.That(leak.GetProperty("ageMs").GetInt64(), Is.EqualTo(group.AgeMilliseconds));
            Assert.That(leak.GetProperty("detail").GetString(), Is.EqualTo(group.Detail));
            Assert.That(leak.GetProperty("chain").GetString(), Is.EqualTo(group.Chain));
            Assert.That(leak.GetProperty("asyncStack").EnumerateArray().Select(f => (
                    f.GetProperty("kind").GetString(), f.GetProperty("method").GetString(), f.GetProperty("location").GetString())),
                Is.EqualTo(group.AsyncStack.Select(f => (KindName(f.Kind), f.Method, f.Location))));
            Assert.That(leak.GetProperty("awaitedBy").EnumerateArray().Select(a => a.GetString()), Is.EqualTo(group.AwaitedBy));
            Assert.That(NullableString(leak.GetProperty("startedBy")), Is.EqualTo(group.StartedBy));
            Assert.That(NullableString(leak.GetProperty("creationStack")), Is.EqualTo(group.CreationStack));
        }

        TaskLeakGroup chain = report.Leaks.Single(g => g.Method == TestSites.Method("Json", 0));
        Assert.That(chain.AsyncStack.Select(f => f.Kind), Is.EqualTo(new[] { AsyncStackFrameKind.AwaitedBy, AsyncStackFrameKind.AwaitedBy }));
        Assert.That(report.Leaks[0].Count, Is.EqualTo(2), "most leaks first");
    }

    [Test]
    public void The_snapshot_round_trips_through_the_documented_schema()
    {
        var held = new HeldOperations(D, s_sites + 2, 3);
        try
        {
            TaskLeakSnapshot snapshot = D.Snapshot();
            using JsonDocument json = JsonDocument.Parse(snapshot.ToJson());
            JsonElement root = json.RootElement;

            Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "schemaVersion", "kind", "totalCount", "groups" }));
            Assert.That(root.GetProperty("kind").GetString(), Is.EqualTo("taskleak.snapshot"));
            Assert.That(root.GetProperty("totalCount").GetInt32(), Is.EqualTo(snapshot.TotalCount));
            JsonElement[] groups = root.GetProperty("groups").EnumerateArray().ToArray();
            Assert.That(groups, Has.Length.EqualTo(snapshot.Groups.Count));
            for (int i = 0; i < groups.Length; i++)
            {
                PendingOperationGroup group = snapshot.Groups[i];
                Assert.That(groups[i].EnumerateObject().Select(p => p.Name),
                    Is.EqualTo(new[] { "method", "awaitSite", "sourcePath", "line", "waitTarget", "count", "oldestAgeMs", "stacks" }));
                Assert.That(groups[i].GetProperty("stacks").EnumerateArray().Sum(s => s.GetProperty("count").GetInt32()), Is.EqualTo(group.Stacks.Sum(s => s.Count)));
                Assert.That(group.Stacks.Sum(s => s.Count), Is.EqualTo(group.Count), "every operation has a stack (fewer than 16 distinct here)");
                Assert.That(groups[i].GetProperty("method").GetString(), Is.EqualTo(group.Method));
                Assert.That(groups[i].GetProperty("awaitSite").GetString(), Is.EqualTo(group.AwaitSite));
                Assert.That(NullableString(groups[i].GetProperty("sourcePath")), Is.EqualTo(group.SourcePath));
                Assert.That(groups[i].GetProperty("line").GetInt32(), Is.EqualTo(group.Line));
                Assert.That(groups[i].GetProperty("waitTarget").GetString(), Is.EqualTo(group.WaitTarget));
                Assert.That(groups[i].GetProperty("count").GetInt32(), Is.EqualTo(group.Count));
                Assert.That(groups[i].GetProperty("oldestAgeMs").GetInt64(), Is.EqualTo(group.OldestAgeMilliseconds));
            }

            Assert.That(snapshot.Groups.Single(g => g.Method == TestSites.Method("Json", 2)).Count, Is.EqualTo(3));
        }
        finally
        {
            held.Complete();
        }
    }

    [Test]
    public void The_stalled_tier_round_trips_through_its_schema()
    {
        var held = new HeldOperations(D, s_sites + 2, 2);
        try
        {
            IReadOnlyList<StalledOperationGroup> stalled = D.GetStalled(TimeSpan.Zero);
            using JsonDocument json = JsonDocument.Parse(stalled.ToJson());
            JsonElement root = json.RootElement;
            Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "schemaVersion", "kind", "label", "totalCount", "groups" }));
            Assert.That(root.GetProperty("kind").GetString(), Is.EqualTo("taskleak.stalled"));
            Assert.That(root.GetProperty("label").GetString(), Is.EqualTo(StalledOperationGroup.Label));
            Assert.That(root.GetProperty("totalCount").GetInt32(), Is.EqualTo(stalled.Sum(g => g.Count)));
            JsonElement group = root.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("method").GetString() == TestSites.Method("Json", 2));
            Assert.That(group.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "method", "awaitSite", "sourcePath", "line", "waitTarget", "count", "oldestAgeMs" }));
            Assert.That(group.GetProperty("count").GetInt32(), Is.EqualTo(2));
        }
        finally
        {
            held.Complete();
        }
    }

    [Test]
    public void The_growing_tier_has_its_own_kind_even_when_empty()
    {
        using JsonDocument json = JsonDocument.Parse(System.Array.Empty<GrowingSite>().ToJson());
        Assert.That(json.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "schemaVersion", "kind", "label", "sites" }));
        Assert.That(json.RootElement.GetProperty("kind").GetString(), Is.EqualTo("taskleak.growing"));
        Assert.That(json.RootElement.GetProperty("sites").GetArrayLength(), Is.Zero);
    }

    [Test]
    public void The_text_report_is_a_top_table_then_one_routine_per_site()
    {
        StartChain();
        TestSites.DropFrame(D, s_sites + 3);
        TestSites.DropFrame(D, s_sites + 3);
        string text = D.DetectNow().ToString();

        Assert.That(text, Does.Contain("      flat  flat%   sum%  site\n"));
        Assert.That(text, Does.Contain("         2 66.67% 66.67%  Tests.Json3.Run (Json.cs:4)\n"));
        Assert.That(text, Does.Contain("         1 33.33%   100%  Tests.Json0.Run (Json.cs:1)\n"));
        Assert.That(text, Does.Contain("ROUTINE ======================== Tests.Json0.Run in /src/Json.cs"));
        Assert.That(text, Does.Contain("  async stack  Tests.Json0.Run (Json.cs:1)\n             \u2190 awaited by Tests.Json1.Run (Json.cs:2)\n"));
        Assert.That(text, Does.Contain("  awaiters     2 leaked operation(s) above these roots"));
    }

    private static string KindName(AsyncStackFrameKind kind) => kind switch
    {
        AsyncStackFrameKind.AwaitedBy => "awaitedBy",
        AsyncStackFrameKind.CalledBy => "calledBy",
        AsyncStackFrameKind.StartedBy => "startedBy",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static string? NullableString(JsonElement element) => element.ValueKind == JsonValueKind.Null ? null : element.GetString();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StartChain()
    {
        object leaf = TestSites.SuspendBox(D, s_sites, new FakeSourceTask(), out _);
        object mid = TestSites.SuspendBox(D, s_sites + 1, leaf, out _);
        TestSites.SuspendBox(D, s_sites + 2, mid, out _);
    }
}
