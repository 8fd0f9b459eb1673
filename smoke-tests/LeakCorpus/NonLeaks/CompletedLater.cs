using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;
using LeakCorpus.Harness;

namespace LeakCorpus.NonLeaks;

// Operations suspended while the detector looks, whose source the caller keeps and completes (or cancels, or
// faults) afterwards: reachable the whole time, so never a leak, whatever shape they have.

/// <summary>The completion arrives after the detector looked.</summary>
public sealed class SourceCompletedLate : Scenario
{
    private readonly TaskCompletionSource<int> _reply = new();
    private Task<int>? _request;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _request = RequestAsync(_reply);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _reply.SetResult(41);
        return _request!;
    }

    private static async Task<int> RequestAsync(TaskCompletionSource<int> reply) => await reply.Task + 1;
}

/// <summary>The non-generic source, completed late.</summary>
public sealed class SignalCompletedLate : Scenario
{
    private readonly TaskCompletionSource _signal = new();
    private Task? _waiter;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _waiter = WaitAsync(_signal);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _signal.SetResult();
        return _waiter!;
    }

    private static async Task WaitAsync(TaskCompletionSource signal) => await signal.Task;
}

/// <summary>The awaited source is cancelled: the method ends with OperationCanceledException.</summary>
public sealed class SourceCancelled : Scenario
{
    private readonly TaskCompletionSource<int> _reply = new();
    private Task<int>? _request;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _request = RequestAsync(_reply);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _reply.SetCanceled();
        return Settled(_request!);
    }

    private static async Task<int> RequestAsync(TaskCompletionSource<int> reply) => await reply.Task;
}

/// <summary>The awaited source faults: the exception propagates out of the method.</summary>
public sealed class SourceFaulted : Scenario
{
    private readonly TaskCompletionSource<int> _reply = new();
    private Task<int>? _request;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _request = RequestAsync(_reply);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _reply.SetException(new InvalidOperationException("the peer reset the connection"));
        return Settled(_request!);
    }

    private static async Task<int> RequestAsync(TaskCompletionSource<int> reply) => await reply.Task;
}

/// <summary>Task.Delay(-1, token) with the CancellationTokenSource kept: cancelled at shutdown.</summary>
public sealed class InfiniteDelayCancelled : Scenario
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _poller;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _poller = PollAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _stopping.Cancel();
        return _poller!;
    }

    private static async Task PollAsync(CancellationToken stopping)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, stopping);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>An item arrives on the channel the consumer waits on.</summary>
public sealed class ChannelItemArrivesLate : Scenario
{
    private readonly Channel<int> _queue = Channel.CreateUnbounded<int>();
    private Task<int>? _consumer;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _consumer = ConsumeAsync(_queue.Reader);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _queue.Writer.TryWrite(7);
        return _consumer!;
    }

    private static async Task<int> ConsumeAsync(ChannelReader<int> reader) => await reader.ReadAsync();
}

/// <summary>The producer completes the channel: the waiting reader ends (ChannelClosedException, handled).</summary>
public sealed class ChannelCompletedByProducer : Scenario
{
    private readonly Channel<int> _queue = Channel.CreateBounded<int>(8);
    private Task<int>? _consumer;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _consumer = DrainAsync(_queue.Reader);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _queue.Writer.Complete();
        return _consumer!;
    }

    private static async Task<int> DrainAsync(ChannelReader<int> reader)
    {
        int count = 0;
        await foreach (int _ in reader.ReadAllAsync())
        {
            count++;
        }

        return count;
    }
}

/// <summary>A writer blocked on a full bounded channel proceeds once the consumer reads.</summary>
public sealed class FullChannelDrainedLate : Scenario
{
    private readonly Channel<int> _queue = Channel.CreateBounded<int>(1);
    private Task? _producer;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _producer = ProduceAsync(_queue.Writer);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _queue.Reader.TryRead(out _);
        return _producer!;
    }

    private static async Task ProduceAsync(ChannelWriter<int> writer)
    {
        await writer.WriteAsync(1);
        await writer.WriteAsync(2);
    }
}

/// <summary>The lock holder releases the semaphore.</summary>
public sealed class SemaphoreReleasedLate : Scenario
{
    private readonly SemaphoreSlim _gate = new(0);
    private Task? _waiter;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _waiter = EnterAsync(_gate);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _gate.Release();
        return _waiter!;
    }

    private static async Task EnterAsync(SemaphoreSlim gate)
    {
        await gate.WaitAsync();
        gate.Release();
    }
}

/// <summary>A chain of three, completed from the bottom.</summary>
public sealed class ChainCompletedLate : Scenario
{
    private readonly TaskCompletionSource<int> _socket = new();
    private Task<int>? _request;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _request = HandleAsync(_socket);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _socket.SetResult(1);
        return _request!;
    }

    private static async Task<int> HandleAsync(TaskCompletionSource<int> socket) => await LoadAsync(socket) + 1;

    private static async Task<int> LoadAsync(TaskCompletionSource<int> socket) => await ReadAsync(socket) + 1;

    private static async Task<int> ReadAsync(TaskCompletionSource<int> socket) => await socket.Task + 1;
}

/// <summary>An async void handler whose acknowledgement arrives.</summary>
public sealed class AsyncVoidCompletedLate : Scenario
{
    private readonly TaskCompletionSource<string> _ack = new();
    private readonly TaskCompletionSource _handled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        OnMessage(_ack, _handled);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _ack.SetResult("ok");
        return _handled.Task;
    }

    private static async void OnMessage(TaskCompletionSource<string> ack, TaskCompletionSource handled)
    {
        await ack.Task;
        handled.SetResult();
    }
}

/// <summary>An async iterator between items, resumed when the next page arrives; the consumer runs to the end.</summary>
public sealed class IteratorResumedLate : Scenario
{
    private readonly TaskCompletionSource<int> _nextPage = new();
    private Task<int>? _sum;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _sum = SumAsync(PagesAsync(_nextPage));
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _nextPage.SetResult(2);
        return _sum!;
    }

    private static async IAsyncEnumerable<int> PagesAsync(TaskCompletionSource<int> nextPage)
    {
        yield return 1;
        yield return await nextPage.Task;
    }

    private static async Task<int> SumAsync(IAsyncEnumerable<int> pages)
    {
        int sum = 0;
        await foreach (int page in pages)
        {
            sum += page;
        }

        return sum;
    }
}

/// <summary>A consumer leaves an await foreach early: the iterator, suspended at a yield, is disposed, never left waiting.</summary>
public sealed class IteratorLeftEarly : Scenario
{
    private readonly Channel<int> _feed = Channel.CreateUnbounded<int>();
    private Task<int>? _first;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _first = TakeTwoAsync(ReadFeedAsync(_feed.Reader));
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        for (int i = 0; i < 3; i++)
        {
            _feed.Writer.TryWrite(i);
        }

        return _first!;
    }

    private static async IAsyncEnumerable<int> ReadFeedAsync(ChannelReader<int> feed)
    {
        while (true)
        {
            yield return await feed.ReadAsync();
        }
    }

    private static async Task<int> TakeTwoAsync(IAsyncEnumerable<int> items)
    {
        int taken = 0;
        await foreach (int item in items)
        {
            if (++taken == 2)
            {
                return item;
            }
        }

        return -1;
    }
}

/// <summary>A ManualResetValueTaskSourceCore-based reply answered late, then reused for a second request.</summary>
public sealed class ValueTaskSourceAnsweredLate : Scenario
{
    private readonly Reply _reply = new();
    private Task<int>? _requests;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _requests = TwoRequestsAsync(_reply);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _reply.Answer(1);
        SpinWait.SpinUntil(() => _reply.Waiting || _requests!.IsCompleted, TimeSpan.FromSeconds(10));
        _reply.Answer(2);
        return _requests!;
    }

    private static async Task<int> TwoRequestsAsync(Reply reply)
    {
        int first = await reply.WaitAsync();
        int second = await reply.WaitAsync();
        return first + second;
    }

    public sealed class Reply : IValueTaskSource<int>
    {
        private ManualResetValueTaskSourceCore<int> _core;
        private volatile bool _waiting;

        public bool Waiting => _waiting;

        public ValueTask<int> WaitAsync() => new(this, _core.Version);

        public void Answer(int value)
        {
            _waiting = false;
            _core.SetResult(value);
        }

        public int GetResult(short token)
        {
            int result = _core.GetResult(token);
            _core.Reset();
            return result;
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        {
            _core.OnCompleted(continuation, state, token, flags);
            _waiting = true;
        }
    }
}

/// <summary>A method on the pooling builder, completed late.</summary>
public sealed class PooledMethodCompletedLate : Scenario
{
    private readonly TaskCompletionSource<int> _reply = new();
    private ValueTask<int> _read;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _read = ReadPooledAsync(_reply);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _reply.SetResult(3);
        return _read.AsTask();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ReadPooledAsync(TaskCompletionSource<int> reply) => await reply.Task;
}

/// <summary>A generic type's async method over a value type, and a lambda, both completed late.</summary>
public sealed class GenericAndLambdaCompletedLate : Scenario
{
    private readonly TaskCompletionSource<long> _loading = new();
    private Task? _both;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        Func<Task<long>, Task<long>> twice = async value => await value * 2;
        _both = Task.WhenAll(new Cache<long>(_loading).GetAsync(), twice(_loading.Task));
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _loading.SetResult(21);
        return _both!;
    }

    public sealed class Cache<TValue>(TaskCompletionSource<TValue> loading)
    {
        public async Task<TValue> GetAsync() => await loading.Task;
    }
}

/// <summary>Fire-and-forget work in Task.Run whose reply arrives.</summary>
public sealed class TaskRunWorkCompletedLate : Scenario
{
    private readonly TaskCompletionSource<int> _reply = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        TaskCompletionSource<int> reply = _reply;
        TaskCompletionSource done = _done;
        _ = Task.Run(async () =>
        {
            await reply.Task;
            done.SetResult();
        });
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _reply.SetResult(1);
        return _done.Task;
    }
}

/// <summary>Ten requests from one loop, every one answered.</summary>
public sealed class LoopAllAnswered : Scenario
{
    private readonly List<TaskCompletionSource<int>> _replies = new();
    private readonly List<Task<int>> _requests = new();

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        for (int i = 0; i < 10; i++)
        {
            var reply = new TaskCompletionSource<int>();
            _replies.Add(reply);
            _requests.Add(FetchAsync(reply));
        }

        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        foreach (TaskCompletionSource<int> reply in _replies)
        {
            reply.SetResult(1);
        }

        return Task.WhenAll(_requests);
    }

    private static async Task<int> FetchAsync(TaskCompletionSource<int> reply) => await reply.Task;
}

/// <summary>A hand-written awaitable whose gate is opened.</summary>
public sealed class CustomAwaitableOpened : Scenario
{
    private readonly Gate _gate = new();
    private Task? _passer;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _passer = PassAsync(_gate);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _gate.Open();
        return _passer!;
    }

    private static async Task PassAsync(Gate gate) => await gate;

    public sealed class Gate : INotifyCompletion
    {
        private Action? _continuation;

        public bool IsCompleted { get; private set; }

        public Gate GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => _continuation = continuation;

        public void Open()
        {
            IsCompleted = true;
            _continuation?.Invoke();
        }
    }
}

/// <summary>await using: DisposeAsync waits for a flush that completes.</summary>
public sealed class AsyncDisposeCompletes : Scenario
{
    private readonly TaskCompletionSource _flushed = new();
    private Task? _user;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _user = UseAsync(_flushed);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _flushed.SetResult();
        return _user!;
    }

    private static async Task UseAsync(TaskCompletionSource flushed)
    {
        await using var writer = new Writer(flushed);
    }

    private sealed class Writer(TaskCompletionSource flushed) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await flushed.Task;
    }
}
