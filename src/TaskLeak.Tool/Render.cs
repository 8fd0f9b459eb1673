using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TaskLeak.Tool;

/// <summary>Text and JSON output of the replies (their JSON is the runtime's own schema, wrapped in the reply envelope).</summary>
internal static class Render
{
    internal static string Json(JsonElement element, bool indented)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            element.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    internal static string Tracking(JsonElement reply)
    {
        JsonElement options = reply.GetProperty("options");
        if (!options.GetProperty("enabled").GetBoolean())
        {
            return "tracking off (dormant): operations that suspend now are not tracked; `dotnet-taskleak enable` turns it on";
        }

        int rate = options.GetProperty("sampleRate").GetInt32();
        return rate == 1
            ? "tracking on, every operation"
            : $"tracking on, sampled: 1 suspension in {rate}, so counts are of tracked operations (about {rate}\u00d7 as many in all)";
    }

    internal static string Pending(JsonElement reply)
    {
        JsonElement snapshot = reply.GetProperty("result");
        var text = new StringBuilder();
        JsonElement groups = snapshot.GetProperty("groups");
        text.Append(Invariant($"Process {Pid(reply)}: {snapshot.GetProperty("totalCount").GetInt32()} suspended async operation(s) at {groups.GetArrayLength()} site(s); "))
            .Append(Tracking(reply)).Append('\n');
        if (groups.GetArrayLength() == 0)
        {
            return text.ToString();
        }

        text.Append("     count  oldest(ms)  site\n");
        foreach (JsonElement group in groups.EnumerateArray())
        {
            text.Append(Number(group, "count", 10)).Append(Number(group, "oldestAgeMs", 12)).Append("  ").Append(Site(group)).Append('\n');
            Stacks(text, group);
        }

        return text.ToString();
    }

    internal static string Leaks(JsonElement reply, bool detected)
    {
        JsonElement report = reply.GetProperty("result");
        JsonElement leaks = report.GetProperty("leaks");
        var text = new StringBuilder();
        text.Append(Invariant($"Process {Pid(reply)}: {report.GetProperty("totalCount").GetInt64()} leaked async operation(s) at {leaks.GetArrayLength()} site(s)"));
        text.Append(detected ? " after a forced detection" : "").Append(" (proven: collected while suspended; they can never resume)\n");
        JsonElement options = reply.GetProperty("options");
        if (!options.GetProperty("enabled").GetBoolean() || options.GetProperty("sampleRate").GetInt32() > 1)
        {
            // Proven stays proven whatever the settings; the counts, though, are of tracked operations only.
            text.Append(Tracking(reply)).Append('\n');
        }

        if (leaks.GetArrayLength() == 0 && !detected)
        {
            text.Append("Nothing is proven until a full GC has run since the leak: `leaks --detect` forces one (it pauses the process for a full blocking collection).\n");
        }

        foreach (JsonElement group in leaks.EnumerateArray())
        {
            text.Append(Number(group, "count", 6)).Append(" \u00d7 ").Append(Site(group)).Append('\n');
            text.Append("         chain: ").Append(group.GetProperty("chain").GetString()).Append('\n');
            if (group.TryGetProperty("creationStack", out JsonElement stack) && stack.ValueKind == JsonValueKind.String)
            {
                text.Append("         creation stack:\n");
                foreach (string line in stack.GetString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    text.Append("           ").Append(line.TrimEnd('\r').Trim()).Append('\n');
                }
            }
        }

        long overflow = report.GetProperty("overflowCount").GetInt64();
        if (overflow > 0)
        {
            text.Append(Invariant($"{overflow} more leak(s) counted past the report's cap on distinct sites.\n"));
        }

        return text.ToString();
    }

    internal static string Stalled(JsonElement reply, TimeSpan minAge)
    {
        JsonElement stalled = reply.GetProperty("result");
        JsonElement groups = stalled.GetProperty("groups");
        int total = 0;
        foreach (JsonElement group in groups.EnumerateArray())
        {
            total += group.GetProperty("count").GetInt32();
        }

        var text = new StringBuilder();
        text.Append(Invariant($"Process {Pid(reply)}: {total} operation(s) at {groups.GetArrayLength()} site(s) suspended at the same await for {Format(minAge)} or more "))
            .Append('[').Append(stalled.GetProperty("label").GetString()).Append("]\n");
        if (groups.GetArrayLength() > 0)
        {
            text.Append("     count  oldest(ms)  site\n");
        }

        foreach (JsonElement group in groups.EnumerateArray())
        {
            text.Append(Number(group, "count", 10)).Append(Number(group, "oldestAgeMs", 12)).Append("  ").Append(Site(group)).Append('\n');
        }

        return text.ToString();
    }

    internal static string Switched(JsonElement reply, string command)
    {
        string tracking = Tracking(reply);
        string note = command == "enable" || (command == "sample" && reply.GetProperty("options").GetProperty("enabled").GetBoolean())
            ? "\nOperations already suspended before tracking was on are not tracked: only suspensions from now on are. Leaks are still proven only by the GC."
            : "";
        return Invariant($"Process {Pid(reply)}: {tracking}.{note}\n");
    }

    /// <summary>One refresh of monitor: sites with their change since the previous refresh, growing sites, proven counts.</summary>
    internal static string Monitor(JsonElement reply, IReadOnlyDictionary<string, int>? previous, Dictionary<string, int> current,
        TimeSpan interval, DateTime now)
    {
        JsonElement result = reply.GetProperty("result");
        JsonElement snapshot = result.GetProperty("snapshot");
        var text = new StringBuilder();
        text.Append(Invariant($"dotnet-taskleak monitor: process {Pid(reply)} at {now:HH:mm:ss}, every {Format(interval)} (Ctrl+C to stop)\n"));
        text.Append(Tracking(reply)).Append('\n');
        text.Append(Invariant($"suspended {snapshot.GetProperty("totalCount").GetInt32()}, leaked (proven) {result.GetProperty("leakedTotal").GetInt64()}\n\n"));
        text.Append("     count    change  oldest(ms)  site\n");
        foreach (JsonElement group in snapshot.GetProperty("groups").EnumerateArray())
        {
            string key = Site(group);
            int count = group.GetProperty("count").GetInt32();
            current[key] = count;
            string change = previous is null ? "" : Signed(count - (previous.TryGetValue(key, out int before) ? before : 0));
            text.Append(Number(group, "count", 10)).Append(change.PadLeft(10)).Append(Number(group, "oldestAgeMs", 12)).Append("  ").Append(key).Append('\n');
        }

        if (previous is not null)
        {
            foreach (KeyValuePair<string, int> gone in previous)
            {
                if (!current.ContainsKey(gone.Key))
                {
                    text.Append("         0").Append(Signed(-gone.Value).PadLeft(10)).Append("            ").Append("  ").Append(gone.Key).Append('\n');
                }
            }
        }

        JsonElement growing = result.GetProperty("growing").GetProperty("sites");
        if (growing.GetArrayLength() > 0)
        {
            text.Append("\ngrowing sites [suspected \u2014 still reachable]:\n");
            foreach (JsonElement site in growing.EnumerateArray())
            {
                text.Append(Invariant($"  {site.GetProperty("count").GetInt32()} live, +{site.GetProperty("increase").GetInt32()} over {site.GetProperty("sweeps").GetInt32()} sweeps  ")).Append(Site(site)).Append('\n');
            }
        }

        JsonElement leaks = result.GetProperty("leaks");
        if (leaks.GetArrayLength() > 0)
        {
            text.Append("\nleaked [proven]:\n");
            foreach (JsonElement group in leaks.EnumerateArray())
            {
                text.Append(Number(group, "count", 10)).Append("  ").Append(Site(group)).Append('\n');
            }
        }

        return text.ToString();
    }

    internal static string Format(TimeSpan value) =>
        value.TotalMilliseconds < 1000 ? Invariant($"{value.TotalMilliseconds:0} ms")
        : value.TotalSeconds < 120 ? Invariant($"{value.TotalSeconds:0.###} s")
        : Invariant($"{value.TotalMinutes:0.##} min");

    private static string Site(JsonElement group) =>
        group.GetProperty("method").GetString() + " (" + group.GetProperty("awaitSite").GetString() + ") waiting on " + group.GetProperty("waitTarget").GetString();

    /// <summary>
    /// A site's logical async stacks (<c>stacks</c>: count, oldest age and <c>asyncStack</c>, innermost caller first), as the
    /// runtime's own text prints them: a site whose operations all run at top level gets no stack lines.
    /// </summary>
    private static void Stacks(StringBuilder text, JsonElement group)
    {
        if (!group.TryGetProperty("stacks", out JsonElement stacks) || stacks.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        const string Indent = "                        ";
        int count = stacks.GetArrayLength();
        foreach (JsonElement stack in stacks.EnumerateArray())
        {
            JsonElement frames = stack.GetProperty("asyncStack");
            if (frames.GetArrayLength() == 0 && count == 1)
            {
                continue;
            }

            text.Append(Indent).Append(Invariant($"{stack.GetProperty("count").GetInt32()} with oldest {stack.GetProperty("oldestAgeMs").GetInt64()} ms"))
                .Append(frames.GetArrayLength() == 0 ? " (top level)\n" : ":\n");
            foreach (JsonElement frame in frames.EnumerateArray())
            {
                string kind = frame.GetProperty("kind").GetString() switch
                {
                    "awaitedBy" => "awaited by ",
                    "calledBy" => "called by ",
                    _ => "started by ",
                };
                text.Append(Indent).Append("  \u2190 ").Append(kind).Append(frame.GetProperty("method").GetString())
                    .Append(" (").Append(frame.GetProperty("location").GetString()).Append(")\n");
            }
        }
    }

    private static string Number(JsonElement element, string name, int width) =>
        element.GetProperty(name).GetInt64().ToString(CultureInfo.InvariantCulture).PadLeft(width);

    private static string Signed(int value) => value > 0 ? "+" + value.ToString(CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture);

    private static int Pid(JsonElement reply) => reply.GetProperty("processId").GetInt32();

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
