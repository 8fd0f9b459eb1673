using System;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;
using TaskLeak.Diagnostics;

namespace TaskLeak.Tool.Tests;

/// <summary>The wire contract on its own: chunking, reassembly, request ids, durations and process names.</summary>
public sealed class ProtocolTests
{
    [Test]
    public void Split_keeps_each_chunk_under_the_limit_and_concatenates_back()
    {
        string payload = string.Concat(Enumerable.Range(0, 5000).Select(i => i.ToString("D4")));
        List<string> chunks = CommandProtocol.Split(payload);

        Assert.That(chunks, Has.Count.EqualTo((payload.Length + CommandProtocol.MaxChunkChars - 1) / CommandProtocol.MaxChunkChars));
        Assert.That(chunks.All(c => c.Length <= CommandProtocol.MaxChunkChars), Is.True);
        Assert.That(string.Concat(chunks), Is.EqualTo(payload));
    }

    [Test]
    public void Split_of_a_short_or_empty_payload_is_one_chunk()
    {
        Assert.That(CommandProtocol.Split("{}"), Is.EqualTo(new[] { "{}" }));
        Assert.That(CommandProtocol.Split(""), Is.EqualTo(new[] { "" }));
        Assert.That(CommandProtocol.Split(new string('x', CommandProtocol.MaxChunkChars)), Has.Count.EqualTo(1));
    }

    [Test]
    public void Split_never_cuts_a_surrogate_pair()
    {
        // 😀 is two UTF-16 units; put one across every 4-char boundary.
        string payload = "abc\U0001F600def\U0001F600gh\U0001F600";
        List<string> chunks = CommandProtocol.Split(payload, maxChars: 4);

        Assert.That(string.Concat(chunks), Is.EqualTo(payload));
        foreach (string chunk in chunks)
        {
            Assert.That(chunk.Length, Is.LessThanOrEqualTo(4));
            Assert.That(char.IsHighSurrogate(chunk[^1]), Is.False, chunk);
            Assert.That(char.IsLowSurrogate(chunk[0]), Is.False, chunk);
        }
    }

    [Test]
    public void Assembler_takes_chunks_in_any_order_once_and_ignores_other_requests()
    {
        var assembler = new ReplyAssembler("abc");
        Assert.That(assembler.Add("other", 0, 1, "nope"), Is.False);
        Assert.That(assembler.Add("abc", 2, 3, "C"), Is.False);
        Assert.That(assembler.Add("abc", 0, 3, "A"), Is.False);
        Assert.That(assembler.Add("abc", 0, 3, "A"), Is.False, "a repeated chunk is ignored");
        Assert.That(assembler.IsComplete, Is.False);
        Assert.That(assembler.Add("abc", 1, 3, "B"), Is.True);
        Assert.That(assembler.Text, Is.EqualTo("ABC"));
        Assert.That(assembler.Add("abc", 1, 3, "X"), Is.False, "a complete reply is final");
        Assert.That(assembler.Text, Is.EqualTo("ABC"));
    }

    [Test]
    public void Assembler_rejects_inconsistent_chunks()
    {
        var assembler = new ReplyAssembler("id");
        Assert.Throws<InvalidOperationException>(() => assembler.Add("id", 3, 3, "x"));
        Assert.Throws<InvalidOperationException>(() => assembler.Add("id", 0, 0, "x"));
        assembler.Add("id", 0, 2, "x");
        Assert.Throws<InvalidOperationException>(() => assembler.Add("id", 1, 3, "y"));
        Assert.Throws<InvalidOperationException>(() => _ = assembler.Text);
    }

    [TestCase("0a5d0696dbce4faf", true)]
    [TestCase("with-dash-1", true)]
    [TestCase("", false)]
    [TestCase(null, false)]
    [TestCase("semi;colon", false)]
    [TestCase("key=value", false)]
    [TestCase("space d", false)]
    public void Request_ids_are_plain_tokens(string? id, bool valid) =>
        Assert.That(CommandProtocol.IsValidRequestId(id), Is.EqualTo(valid));

    [TestCase("500ms", 500)]
    [TestCase("30s", 30_000)]
    [TestCase("2", 2_000)]
    [TestCase("1.5s", 1_500)]
    [TestCase("5m", 300_000)]
    [TestCase("1h", 3_600_000)]
    [TestCase("0", 0)]
    public void Durations_parse(string text, int milliseconds)
    {
        Assert.That(Duration.TryParse(text, out TimeSpan value), Is.True);
        Assert.That(value.TotalMilliseconds, Is.EqualTo(milliseconds));
    }

    [TestCase("abc")]
    [TestCase("-5s")]
    [TestCase("5d")]
    [TestCase("")]
    [TestCase("99999999h")]
    public void Bad_durations_do_not_parse(string text) => Assert.That(Duration.TryParse(text, out _), Is.False);

    [Test]
    public void A_name_matches_the_app_of_the_dotnet_muxer()
    {
        var muxer = new ProcessNames("dotnet", "/usr/share/dotnet/dotnet", new[] { "dotnet", "bin/MyApp.dll", "--urls", "x.dll" });
        Assert.That(ProcessFinder.Matches("MyApp", muxer), Is.True);
        Assert.That(ProcessFinder.Matches("MyApp.dll", muxer), Is.True);
        Assert.That(ProcessFinder.Matches("dotnet", muxer), Is.True);
        Assert.That(ProcessFinder.Matches("x", muxer), Is.False, "only the first .dll is the app");
        Assert.That(ProcessFinder.Matches("myapp", muxer), Is.False, "names are compared as the OS spells them");

        var exec = new ProcessNames("dotnet", "/usr/share/dotnet/dotnet", new[] { "dotnet", "exec", "--runtimeconfig", "a.json", "/srv/Api.dll" });
        Assert.That(ProcessFinder.Matches("Api", exec), Is.True);
    }

    [Test]
    public void A_name_matches_an_apphost_by_process_name_or_executable()
    {
        var apphost = new ProcessNames("MyService", "/srv/MyService", new[] { "/srv/MyService", "plugin.dll" });
        Assert.That(ProcessFinder.Matches("MyService", apphost), Is.True);
        Assert.That(ProcessFinder.Matches("plugin", apphost), Is.False, "an apphost's arguments are not its app");

        // Linux truncates comm to 15 characters; the executable still carries the full name.
        var longName = new ProcessNames("TaskLeak.Tool.T", "/srv/TaskLeak.Tool.TargetApp", new[] { "/srv/TaskLeak.Tool.TargetApp" });
        Assert.That(ProcessFinder.Matches("TaskLeak.Tool.TargetApp", longName), Is.True);
    }
}
