using System;
using System.Collections.Generic;

namespace TaskLeak.Diagnostics;

/// <summary>
/// The wire contract between the <c>TaskLeak</c> EventSource and dotnet-taskleak. This file is compiled into both (the
/// tool links it), so the names, the reply event and the chunking cannot drift apart. A tool enables the EventSource
/// with EventSource command arguments (<c>Command=leaks;Detect=true;RequestId=…</c>); the runtime answers with
/// <see cref="ReplyEventName"/> events carrying one JSON document split into chunks.
/// </summary>
internal static class CommandProtocol
{
    internal const string SourceName = "TaskLeak";

    // After the EventSource's finding and error events (1 to 4).
    internal const int ReplyEventId = 5;
    internal const string ReplyEventName = "CommandReply";
    internal const int ReplyEndEventId = 6;

    /// <summary>
    /// How long after the last chunk the end event is written. EventPipe flushes a session's buffers about every 100 ms,
    /// and TraceEvent can keep the last event it parsed until more data arrives: the end event is that data.
    /// </summary>
    internal const int ReplyEndDelayMilliseconds = 250;

    /// <summary>Argument keys. Values are plain tokens: EventPipe passes them as <c>key=value;key=value</c>.</summary>
    internal const string CommandKey = "Command";
    internal const string RequestIdKey = "RequestId";
    internal const string DetectKey = "Detect";
    internal const string MinAgeKey = "MinAge";
    internal const string SampleKey = "Sample";

    internal const string Snapshot = "snapshot";
    internal const string Leaks = "leaks";
    internal const string Stalled = "stalled";
    internal const string Monitor = "monitor";
    internal const string Enable = "enable";
    internal const string Disable = "disable";
    internal const string Sample = "sample";
    internal const string Status = "status";

    internal const string ReplyKind = "taskleak.reply";

    /// <summary>
    /// Characters per reply event: 8,192 UTF-16 characters is 16 KB of payload, well under EventPipe's 64 KB event limit
    /// (and ETW's) whatever else the event carries.
    /// </summary>
    internal const int MaxChunkChars = 8192;

    /// <summary>Splits <paramref name="payload"/> into chunks of at most <paramref name="maxChars"/>, never between the two halves of a surrogate pair.</summary>
    internal static List<string> Split(string payload, int maxChars = MaxChunkChars)
    {
        if (maxChars < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(maxChars));
        }

        var chunks = new List<string>(payload.Length / maxChars + 1);
        int start = 0;
        while (payload.Length - start > maxChars)
        {
            int length = maxChars;
            if (char.IsHighSurrogate(payload[start + length - 1]))
            {
                length--;
            }

            chunks.Add(payload.Substring(start, length));
            start += length;
        }

        chunks.Add(payload.Substring(start));
        return chunks;
    }

    /// <summary>A request id is a short token: letters, digits and dashes only, so it survives the argument string.</summary>
    internal static bool IsValidRequestId(string? id)
    {
        if (id is null || id.Length == 0 || id.Length > 64)
        {
            return false;
        }

        foreach (char c in id)
        {
            if (!(c is >= 'a' and <= 'z' || c is >= 'A' and <= 'Z' || c is >= '0' and <= '9' || c == '-'))
            {
                return false;
            }
        }

        return true;
    }
}
