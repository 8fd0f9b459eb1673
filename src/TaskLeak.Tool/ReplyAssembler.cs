using System;

namespace TaskLeak.Tool;

/// <summary>
/// Puts one reply back together from its <c>CommandReply</c> chunks. Chunks of other requests (another tool attached to
/// the same process) are ignored by request id; a repeated chunk (EventPipe may deliver an event twice when the
/// runtime re-runs a command callback) is ignored by index.
/// </summary>
internal sealed class ReplyAssembler
{
    private readonly string _requestId;
    private string?[]? _chunks;
    private int _received;

    internal ReplyAssembler(string requestId) => _requestId = requestId;

    internal bool IsComplete => _chunks is not null && _received == _chunks.Length;

    /// <summary>Adds a chunk; returns true when it completed the reply.</summary>
    internal bool Add(string requestId, int index, int count, string payload)
    {
        if (!string.Equals(requestId, _requestId, StringComparison.Ordinal) || IsComplete)
        {
            return false;
        }

        if (count <= 0 || index < 0 || index >= count || (_chunks is not null && _chunks.Length != count))
        {
            throw new InvalidOperationException($"malformed reply chunk {index} of {count}");
        }

        _chunks ??= new string?[count];
        if (_chunks[index] is null)
        {
            _chunks[index] = payload;
            _received++;
        }

        return IsComplete;
    }

    /// <summary>The whole reply document, once complete.</summary>
    internal string Text => IsComplete ? string.Concat(_chunks!) : throw new InvalidOperationException("the reply is incomplete");
}
