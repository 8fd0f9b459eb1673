using System;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace TaskLeak.Fody.Tests;

/// <summary>
/// What a shape under test waits on, in every form a shape takes it: a task, a channel item, a cancellation token.
/// Opening, failing or cancelling the gate drives the matching path of the woven method; dropping it leaks the method.
/// </summary>
public sealed class Gate
{
    private readonly TaskCompletionSource<int> _source = new();
    private readonly CancellationTokenSource _cancellation = new();
    private readonly Channel<int> _channel = System.Threading.Channels.Channel.CreateUnbounded<int>();

    public Task<int> Task => _source.Task;

    public CancellationToken Token => _cancellation.Token;

    public Channel<int> Channel => _channel;

    public static Gate Opened(int value)
    {
        var gate = new Gate();
        gate.Open(value);
        return gate;
    }

    public void Open(int value)
    {
        _source.SetResult(value);
        _channel.Writer.TryWrite(value);
    }

    public void Fail(Exception exception)
    {
        _source.SetException(exception);
        _channel.Writer.TryComplete(exception);
    }

    public void Cancel()
    {
        _source.SetCanceled();
        _cancellation.Cancel();
    }
}
