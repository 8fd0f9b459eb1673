using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;
using LeakCorpus.Harness;

namespace LeakCorpus.Leaks;

// The same leak (an await nothing can complete) in every shape the compiler gives an async method, and in the
// places code spawns them from. The corpus is compiled twice: struct state machines (LeakCorpus) and class state
// machines (LeakCorpus.Debug).

/// <summary>A request handler → a repository → a socket read that nothing will answer: the whole chain leaks at once.</summary>
public sealed class ChainOfThree : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(ReadReplyAsync), "leak:chain-c")
        .ThenAwaitedBy(nameof(LoadOrderAsync), "leak:chain-b")
        .ThenAwaitedBy(nameof(HandleRequestAsync), "leak:chain-a")
        .WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = HandleRequestAsync(new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }

    private static async Task<string> HandleRequestAsync(TaskCompletionSource<int> socket)
    {
        int order = await LoadOrderAsync(socket); // leak:chain-a
        return "order " + order;
    }

    private static async Task<int> LoadOrderAsync(TaskCompletionSource<int> socket)
    {
        int row = await ReadReplyAsync(socket); // leak:chain-b
        return row * 2;
    }

    private static async Task<int> ReadReplyAsync(TaskCompletionSource<int> socket)
    {
        int reply = await socket.Task; // leak:chain-c
        return reply + 1;
    }
}

/// <summary>async void: nobody can even await it; the handler waits for an acknowledgement nobody will send.</summary>
public sealed class AsyncVoidHandler : Scenario
{
    public static int Handled;

    public override Expected Expected => Expected.ProvenLeak(nameof(OnMessage), "leak:async-void").WaitingOn("TaskCompletionSource<string>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        OnMessage(new TaskCompletionSource<string>());
        return Task.CompletedTask;
    }

    private static async void OnMessage(TaskCompletionSource<string> acknowledgement)
    {
        string ack = await acknowledgement.Task; // leak:async-void
        Handled += ack.Length;
    }
}

/// <summary>An async iterator stuck inside, between two items, while its consumer's await foreach waits in MoveNextAsync.</summary>
public sealed class AsyncIteratorStuckBetweenItems : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(ReadPagesAsync), "leak:iterator")
        .ThenAwaitedBy(nameof(SumPagesAsync), "leak:iterator-consumer")
        .WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = SumPagesAsync(ReadPagesAsync(new TaskCompletionSource<int>()));
        return Task.CompletedTask;
    }

    private static async IAsyncEnumerable<int> ReadPagesAsync(TaskCompletionSource<int> nextPage)
    {
        yield return 1;
        yield return await nextPage.Task; // leak:iterator
    }

    private static async Task<int> SumPagesAsync(IAsyncEnumerable<int> pages)
    {
        int sum = 0;
        await foreach (int page in pages) // leak:iterator-consumer
        {
            sum += page;
        }

        return sum;
    }
}

/// <summary>An async iterator whose enumerator is driven by hand: MoveNextAsync's ValueTask is dropped while the iterator waits.</summary>
public sealed class AsyncIteratorMoveNextDropped : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(TicksAsync), "leak:iterator-manual").WaitingOn("TaskCompletionSource.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        IAsyncEnumerator<int> ticks = TicksAsync(new TaskCompletionSource()).GetAsyncEnumerator();
        _ = ticks.MoveNextAsync();
        return Task.CompletedTask;
    }

    private static async IAsyncEnumerable<int> TicksAsync(TaskCompletionSource tick)
    {
        await tick.Task; // leak:iterator-manual
        yield return 1;
    }
}

/// <summary>A reusable reply object over ManualResetValueTaskSourceCore, dropped before anyone answered it.</summary>
public sealed class ValueTaskSourceDropped : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(AwaitReplyAsync), "leak:value-task-source").WaitingOn("WaitAsync");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = AwaitReplyAsync(new Reply());
        return Task.CompletedTask;
    }

    private static async Task<int> AwaitReplyAsync(Reply reply)
    {
        int value = await reply.WaitAsync(); // leak:value-task-source
        return value;
    }

    public sealed class Reply : IValueTaskSource<int>
    {
        private ManualResetValueTaskSourceCore<int> _core;

        public ValueTask<int> WaitAsync() => new(this, _core.Version);

        public void Answer(int value) => _core.SetResult(value);

        public int GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}

/// <summary>A hand-written awaitable (INotifyCompletion only) whose gate nobody opens.</summary>
public sealed class CustomAwaitableDropped : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(PassAsync), "leak:custom-awaitable").WaitingOn("Gate");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = PassAsync(new Gate());
        return Task.CompletedTask;
    }

    private static async Task PassAsync(Gate gate)
    {
        await gate; // leak:custom-awaitable
    }

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

/// <summary>Fire-and-forget work in Task.Run that waits for a reply nobody will send.</summary>
public sealed class InsideTaskRun : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(Start), "leak:task-run")
        .StartedBy("Task.Run", "spawn:task-run")
        .WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () => // spawn:task-run
        {
            var reply = new TaskCompletionSource<int>();
            started.SetResult();
            return await reply.Task; // leak:task-run
        });
        return started.Task;
    }
}

/// <summary>The same through Task.Factory.StartNew with an async lambda, unwrapped.</summary>
public sealed class InsideFactoryStartNew : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(Start), "leak:start-new")
        .StartedBy("Task.Factory.StartNew", "spawn:start-new")
        .WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Factory.StartNew(async () => // spawn:start-new
        {
            var reply = new TaskCompletionSource<int>();
            started.SetResult();
            return await reply.Task; // leak:start-new
        }, CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default).Unwrap();
        return started.Task;
    }
}

/// <summary>Work spawned from spawned work: the innermost spawn site started it.</summary>
public sealed class InsideNestedTaskRun : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(ListenAsync), "leak:nested-run")
        .StartedBy("Task.Run", "spawn:inner-run")
        .WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(() =>
        {
            _ = Task.Run(() => ListenAsync(started)); // spawn:inner-run
        });
        return started.Task;
    }

    private static async Task<int> ListenAsync(TaskCompletionSource started)
    {
        var message = new TaskCompletionSource<int>();
        started.SetResult();
        return await message.Task; // leak:nested-run
    }
}

/// <summary>Ten requests from one loop, each waiting for a reply nobody keeps: one site, ten leaks.</summary>
public sealed class ManyFromOneLoop : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(FetchAsync), "leak:loop").Times(10).WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        for (int i = 0; i < 10; i++)
        {
            _ = FetchAsync(new TaskCompletionSource<int>(), i);
        }

        return Task.CompletedTask;
    }

    private static async Task<int> FetchAsync(TaskCompletionSource<int> reply, int id)
    {
        int value = await reply.Task; // leak:loop
        return value + id;
    }
}

/// <summary>A loop inside Task.Run leaking five operations at one site, all started by the one spawn.</summary>
public sealed class ManyFromTaskRunLoop : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(WorkAsync), "leak:run-loop").Times(5)
        .StartedBy("Task.Run", "spawn:run-loop")
        .WaitingOn("SemaphoreSlim.WaitAsync()");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(() => // spawn:run-loop
        {
            var throttle = new SemaphoreSlim(0);
            for (int i = 0; i < 5; i++)
            {
                _ = WorkAsync(throttle);
            }

            started.SetResult();
        });
        return started.Task;
    }

    private static async Task WorkAsync(SemaphoreSlim throttle)
    {
        await throttle.WaitAsync(); // leak:run-loop
        throttle.Release();
    }
}

/// <summary>A generic method, instantiated over a reference type (shared generic code).</summary>
public sealed class InGenericMethod : Scenario
{
    public override Expected Expected => Expected.ProvenLeak("FirstAsync<T>", "leak:generic-method").WaitingOn("TaskCompletionSource<T>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = FirstAsync(new TaskCompletionSource<string>());
        return Task.CompletedTask;
    }

    private static async Task<T> FirstAsync<T>(TaskCompletionSource<T> source)
    {
        T value = await source.Task; // leak:generic-method
        return value;
    }
}

/// <summary>A method of a generic type, instantiated over a value type.</summary>
public sealed class InGenericType : Scenario
{
    public override Expected Expected => Expected.ProvenLeak("Cache<TValue>.GetAsync", "leak:generic-type").WaitingOn("TaskCompletionSource<TValue>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = new Cache<long>().GetAsync();
        return Task.CompletedTask;
    }

    public sealed class Cache<TValue>
    {
        private readonly TaskCompletionSource<TValue> _loading = new();

        public async Task<TValue> GetAsync()
        {
            TValue value = await _loading.Task; // leak:generic-type
            return value;
        }
    }
}

/// <summary>async ValueTask&lt;T&gt;: the builder boxes the state machine on the first suspension.</summary>
public sealed class ValueTaskMethod : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(ReadAsync), "leak:value-task").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = ReadAsync(new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }

    private static async ValueTask<int> ReadAsync(TaskCompletionSource<int> source)
    {
        int value = await source.Task; // leak:value-task
        return value;
    }
}

/// <summary>The pooling ValueTask builder: the box goes back to a pool when the method completes, which it never does.</summary>
public sealed class PooledValueTaskMethod : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(ReadPooledAsync), "leak:pooled").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = ReadPooledAsync(new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ReadPooledAsync(TaskCompletionSource<int> source)
    {
        int value = await source.Task; // leak:pooled
        return value;
    }
}

/// <summary>A non-generic async ValueTask on the pooling builder.</summary>
public sealed class PooledValueTaskVoidMethod : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(FlushPooledAsync), "leak:pooled-void").WaitingOn("SemaphoreSlim.WaitAsync()");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = FlushPooledAsync(new SemaphoreSlim(0));
        return Task.CompletedTask;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask FlushPooledAsync(SemaphoreSlim gate)
    {
        await gate.WaitAsync(); // leak:pooled-void
    }
}

/// <summary>A capturing async local function.</summary>
public sealed class InLocalFunction : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(Start), "leak:local-function").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var source = new TaskCompletionSource<int>();
        _ = WaitLocalAsync();
        return Task.CompletedTask;

        async Task<int> WaitLocalAsync()
        {
            int value = await source.Task; // leak:local-function
            return value;
        }
    }
}

/// <summary>A static async local function.</summary>
public sealed class InStaticLocalFunction : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(Start), "leak:static-local").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = WaitStaticAsync(new TaskCompletionSource<int>());
        return Task.CompletedTask;

        static async Task<int> WaitStaticAsync(TaskCompletionSource<int> source)
        {
            int value = await source.Task; // leak:static-local
            return value;
        }
    }
}

/// <summary>An async lambda stored in a delegate and invoked.</summary>
public sealed class InLambda : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(Start), "leak:lambda").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        Func<TaskCompletionSource<int>, Task<int>> handler = async source => await source.Task + 1; // leak:lambda
        _ = handler(new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }
}

/// <summary>An async anonymous method (the delegate keyword).</summary>
public sealed class InAnonymousMethod : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(Start), "leak:anonymous").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        Func<TaskCompletionSource<int>, Task> handler = async delegate (TaskCompletionSource<int> source)
        {
            await source.Task; // leak:anonymous
        };
        _ = handler(new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }
}

/// <summary>The first await completes (after a hop to the thread pool); the second is the stuck one.</summary>
public sealed class SecondAwaitStuck : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(HandshakeAsync), "leak:second-await").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = HandshakeAsync(new TaskCompletionSource<int>(), started);
        return started.Task;
    }

    private static async Task<int> HandshakeAsync(TaskCompletionSource<int> reply, TaskCompletionSource started)
    {
        await Task.Yield();
        started.SetResult();
        int value = await reply.Task; // leak:second-await
        return value;
    }
}

/// <summary>Stuck inside try/catch: no exception will ever come either.</summary>
public sealed class InsideTryCatch : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(GuardedAsync), "leak:try-catch").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = GuardedAsync(new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }

    private static async Task<int> GuardedAsync(TaskCompletionSource<int> reply)
    {
        try
        {
            return await reply.Task; // leak:try-catch
        }
        catch (OperationCanceledException)
        {
            return -1;
        }
    }
}

/// <summary>Stuck inside a using block: the resource is never disposed.</summary>
public sealed class InsideUsing : Scenario
{
    public static int Disposed;

    public override Expected Expected => Expected.ProvenLeak(nameof(UseAsync), "leak:using").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = UseAsync(new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }

    private static async Task<int> UseAsync(TaskCompletionSource<int> reply)
    {
        using (new Lease())
        {
            return await reply.Task; // leak:using
        }
    }

    private sealed class Lease : IDisposable
    {
        public void Dispose() => Interlocked.Increment(ref Disposed);
    }
}

/// <summary>A fan-out whose children all leak: the parent waits on a WhenAll over them, a link the runtime cannot see.</summary>
public sealed class WhenAllOfLeakedChildren : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(QueryShardAsync), "leak:shard").Times(2)
        .AlsoRootAt(nameof(QueryAllAsync), "leak:fan-out")
        .WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = QueryAllAsync();
        return Task.CompletedTask;
    }

    private static async Task<int> QueryAllAsync()
    {
        int[] rows = await Task.WhenAll(QueryShardAsync(new TaskCompletionSource<int>()), QueryShardAsync(new TaskCompletionSource<int>())); // leak:fan-out
        return rows.Length;
    }

    private static async Task<int> QueryShardAsync(TaskCompletionSource<int> shard)
    {
        int rows = await shard.Task; // leak:shard
        return rows;
    }
}

/// <summary>
/// A Task awaiting a ValueTask-returning child through ConfigureAwait(false): both leak, reported as two groups,
/// because the awaiter of a ValueTask child is not linked to it when it started the child on its first run.
/// </summary>
public sealed class ChainThroughValueTask : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(ReceiveAsync), "leak:vt-inner")
        .AlsoRootAt(nameof(ProcessAsync), "leak:vt-outer")
        .WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = ProcessAsync(new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }

    private static async Task<int> ProcessAsync(TaskCompletionSource<int> wire)
    {
        int value = await ReceiveAsync(wire).ConfigureAwait(false); // leak:vt-outer
        return value;
    }

    private static async ValueTask<int> ReceiveAsync(TaskCompletionSource<int> wire)
    {
        int value = await wire.Task.ConfigureAwait(false); // leak:vt-inner
        return value;
    }
}

/// <summary>A pooled box completes and goes back to the pool; the next call reuses it and is dropped: still proven.</summary>
public sealed class PooledBoxReusedThenDropped : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(ReadPooledAsync), "leak:pooled-reused").WaitingOn("reply");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        for (int i = 0; i < 3; i++)
        {
            var first = new TaskCompletionSource<int>();
            ValueTask<int> done = ReadPooledAsync(first.Task);
            first.SetResult(i);
            _ = done.GetAwaiter().GetResult(); // the box goes back to the pool here
        }

        _ = ReadPooledAsync(new TaskCompletionSource<int>().Task);
        return Task.CompletedTask;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ReadPooledAsync(Task<int> reply)
    {
        int value = await reply; // leak:pooled-reused
        return value + 1;
    }
}

/// <summary>await using: DisposeAsync waits for a flush nobody will confirm; the caller waits on DisposeAsync's ValueTask (its own group).</summary>
public sealed class AsyncDisposeStuck : Scenario
{
    public override Expected Expected => Expected.ProvenLeak("Writer.DisposeAsync", "leak:dispose")
        .AlsoRootAt(nameof(WriteAsync), "leak:await-using")
        .WaitingOn("TaskCompletionSource.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = WriteAsync(new TaskCompletionSource());
        return Task.CompletedTask;
    }

    private static async Task WriteAsync(TaskCompletionSource flushed)
    {
        await using var writer = new Writer(flushed); // leak:await-using
        writer.Append(1);
    }

    public sealed class Writer(TaskCompletionSource flushed) : IAsyncDisposable
    {
        private int _pending;

        public void Append(int item) => _pending += item;

        public async ValueTask DisposeAsync()
        {
            await flushed.Task; // leak:dispose
            _pending = 0;
        }
    }
}
