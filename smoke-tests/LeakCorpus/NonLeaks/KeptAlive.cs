using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using LeakCorpus.Harness;

namespace LeakCorpus.NonLeaks;

// Operations the scenario itself drops, kept reachable by something else: a timer, a static, a finalizer, a
// thread's stack, a live worker. Each signals the end through a source only the fragment references (holding the
// fragment's own Task would hold its frame and prove nothing).

/// <summary>Task.Delay(1 h, token): the timer roots the delay and so the frame. The scenario keeps the CTS only weakly, to cancel it at the end.</summary>
public sealed class LongDelayRootedByTimer : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WeakReference<CancellationTokenSource>? _stopping;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var stopping = new CancellationTokenSource();
        _stopping = new WeakReference<CancellationTokenSource>(stopping);
        _ = WaitAnHourAsync(stopping.Token, _done);
        return Task.CompletedTask;
    }

    public override Task Finish() => Timers.CancelIfAlive(_stopping!, _done);

    private static async Task WaitAnHourAsync(CancellationToken stopping, TaskCompletionSource done)
    {
        try
        {
            await Task.Delay(TimeSpan.FromHours(1), stopping);
        }
        catch (OperationCanceledException)
        {
        }

        done.SetResult();
    }
}

/// <summary>CancelAfter(1 h): the CTS's timer roots the CTS, its registrations, the infinite delay and the frame.</summary>
public sealed class CancelAfterPending : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WeakReference<CancellationTokenSource>? _timeout;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var timeout = new CancellationTokenSource();
        timeout.CancelAfter(TimeSpan.FromHours(1));
        _timeout = new WeakReference<CancellationTokenSource>(timeout);
        _ = WaitForTimeoutAsync(timeout.Token, _done);
        return Task.CompletedTask;
    }

    public override Task Finish() => Timers.CancelIfAlive(_timeout!, _done);

    private static async Task WaitForTimeoutAsync(CancellationToken timeout, TaskCompletionSource done)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, timeout);
        }
        catch (OperationCanceledException)
        {
        }

        done.SetResult();
    }
}

/// <summary>WaitAsync(1 h) on a dropped source: the timeout's timer roots the frame until it fires.</summary>
public sealed class WaitAsyncTimeoutPending : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WeakReference<CancellationTokenSource>? _stopping;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var stopping = new CancellationTokenSource();
        _stopping = new WeakReference<CancellationTokenSource>(stopping);
        _ = AwaitWithTimeoutAsync(new TaskCompletionSource<int>(), stopping.Token, _done);
        return Task.CompletedTask;
    }

    public override Task Finish() => Timers.CancelIfAlive(_stopping!, _done);

    private static async Task AwaitWithTimeoutAsync(TaskCompletionSource<int> reply, CancellationToken stopping, TaskCompletionSource done)
    {
        try
        {
            await reply.Task.WaitAsync(TimeSpan.FromHours(1), stopping);
        }
        catch (OperationCanceledException)
        {
        }

        done.SetResult();
    }
}

/// <summary>A short delay, dropped by everyone: it elapses and the method completes on its own.</summary>
public sealed class ShortDelayElapses : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = BackOffAsync(_done);
        return Task.CompletedTask;
    }

    public override Task Finish() => _done.Task;

    private static async Task BackOffAsync(TaskCompletionSource done)
    {
        await Task.Delay(200);
        done.SetResult();
    }
}

/// <summary>CancelAfter(200 ms) on a CTS nobody keeps: its timer cancels the infinite delay.</summary>
public sealed class CancelAfterFires : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        _ = WaitAsync(timeout.Token, _done);
        return Task.CompletedTask;
    }

    public override Task Finish() => _done.Task;

    private static async Task WaitAsync(CancellationToken timeout, TaskCompletionSource done)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, timeout);
        }
        catch (OperationCanceledException)
        {
            done.SetResult();
        }
    }
}

/// <summary>A System.Threading.Timer the caller keeps completes the source from its callback.</summary>
public sealed class TimerCallbackCompletes : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Timer? _timer;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var tick = new TaskCompletionSource<int>();
        _timer = new Timer(_ => tick.TrySetResult(1), null, TimeSpan.FromMilliseconds(200), Timeout.InfiniteTimeSpan);
        _ = WaitForTickAsync(tick, _done);
        return Task.CompletedTask;
    }

    public override Task Finish() => _done.Task.ContinueWith(_ => _timer!.Dispose(), TaskScheduler.Default);

    private static async Task WaitForTickAsync(TaskCompletionSource<int> tick, TaskCompletionSource done)
    {
        await tick.Task;
        done.SetResult();
    }
}

/// <summary>A PeriodicTimer the worker owns, stopped by the caller after a few ticks.</summary>
public sealed class PeriodicTimerWorker : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = TickAsync(_stopping.Token, _done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _stopping.Cancel();
        return _done.Task;
    }

    private static async Task TickAsync(CancellationToken stopping, TaskCompletionSource done)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
            }
        }
        catch (OperationCanceledException)
        {
        }

        done.SetResult();
    }
}

/// <summary>The source lives in a static the application completes later.</summary>
public sealed class StaticHolderCompletedLate : Scenario
{
    private static TaskCompletionSource<int>? s_config;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        s_config = new TaskCompletionSource<int>();
        _ = WaitForConfigAsync(s_config, _done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        Interlocked.Exchange(ref s_config, null)!.SetResult(1);
        return _done.Task;
    }

    private static async Task WaitForConfigAsync(TaskCompletionSource<int> config, TaskCompletionSource done)
    {
        await config.Task;
        done.SetResult();
    }
}

/// <summary>The caller keeps the operation object (its source and its task) and completes it.</summary>
public sealed class CallerKeepsOperation : Scenario
{
    private Operation? _operation;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _operation = new Operation();
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _operation!.Complete();
        return _operation.Task;
    }

    public sealed class Operation
    {
        private readonly TaskCompletionSource<int> _result = new();

        public Operation() => Task = RunAsync();

        public Task<int> Task { get; }

        public void Complete() => _result.SetResult(1);

        private async Task<int> RunAsync() => await _result.Task;
    }
}

/// <summary>Nothing references the source but an object whose finalizer completes it: the GC revives the frame.</summary>
public sealed class FinalizerCompletesSource : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var reply = new TaskCompletionSource<int>();
        _ = new CompletesOnFinalize(reply);
        _ = WaitAsync(reply, _done);
        return Task.CompletedTask;
    }

    public override Task Finish() => _done.Task;

    private static async Task WaitAsync(TaskCompletionSource<int> reply, TaskCompletionSource done)
    {
        try
        {
            await reply.Task;
        }
        finally
        {
            done.SetResult();
        }
    }

    private sealed class CompletesOnFinalize(TaskCompletionSource<int> reply)
    {
        ~CompletesOnFinalize() => reply.TrySetResult(7);
    }
}

/// <summary>A finalizer releases the semaphore the frame waits on (resurrection through a semaphore).</summary>
public sealed class FinalizerReleasesSemaphore : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var gate = new SemaphoreSlim(0);
        _ = new ReleasesOnFinalize(gate);
        _ = EnterAsync(gate, _done);
        return Task.CompletedTask;
    }

    public override Task Finish() => _done.Task;

    private static async Task EnterAsync(SemaphoreSlim gate, TaskCompletionSource done)
    {
        await gate.WaitAsync();
        done.SetResult();
    }

    private sealed class ReleasesOnFinalize(SemaphoreSlim gate)
    {
        ~ReleasesOnFinalize() => gate.Release();
    }
}

/// <summary>A whole chain revived by a finalizer completing its innermost source.</summary>
public sealed class FinalizerCompletesChain : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var reply = new TaskCompletionSource<int>();
        _ = new CompletesOnFinalize(reply);
        _ = OuterAsync(reply, _done);
        return Task.CompletedTask;
    }

    public override Task Finish() => _done.Task;

    private static async Task OuterAsync(TaskCompletionSource<int> reply, TaskCompletionSource done)
    {
        await InnerAsync(reply);
        done.SetResult();
    }

    private static async Task<int> InnerAsync(TaskCompletionSource<int> reply) => await reply.Task;

    private sealed class CompletesOnFinalize(TaskCompletionSource<int> reply)
    {
        ~CompletesOnFinalize() => reply.TrySetResult(7);
    }
}

/// <summary>A pooled box completes, returns to the pool and is reused by the next call, which waits on a kept source.</summary>
public sealed class PooledBoxReused : Scenario
{
    private readonly TaskCompletionSource<int> _second = new();
    private ValueTask<int> _pending;

    public override Expected Expected => Expected.NoLeak();

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

        _pending = ReadPooledAsync(_second.Task);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _second.SetResult(2);
        return _pending.AsTask();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ReadPooledAsync(Task<int> reply) => await reply + 1;
}

/// <summary>WhenAny: the winner completes now; the loser, an operation its owner keeps, stays suspended and completes later.</summary>
public sealed class WhenAnyLoserCompletesLater : Scenario
{
    private readonly TaskCompletionSource<int> _replica = new();
    private Task<int>? _slow;

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _slow = ReadReplicaAsync(_replica);
        return RaceAsync(Task.FromResult(1), _slow);
    }

    public override Task Finish()
    {
        _replica.SetResult(2);
        return _slow!;
    }

    private static async Task<int> RaceAsync(Task<int> primary, Task<int> replica)
    {
        Task<int> winner = await Task.WhenAny(primary, replica);
        return await winner;
    }

    private static async Task<int> ReadReplicaAsync(TaskCompletionSource<int> replica) => await replica.Task;
}

/// <summary>A timeout race: the dropped request never answers, the delay wins and the method completes.</summary>
public sealed class WhenAnyTimeoutWins : Scenario
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = RequestWithTimeoutAsync(new TaskCompletionSource<int>(), _done);
        return Task.CompletedTask;
    }

    public override Task Finish() => _done.Task;

    private static async Task RequestWithTimeoutAsync(TaskCompletionSource<int> reply, TaskCompletionSource done)
    {
        Task first = await Task.WhenAny(reply.Task, Task.Delay(200));
        done.SetResult();
        _ = first;
    }
}

/// <summary>Awaits of completed tasks, ValueTasks and channel items never suspend: there is nothing to track.</summary>
public sealed class SynchronousCompletion : Scenario
{
    public override Expected Expected => Expected.NoLeak().Synchronously();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var channel = Channel.CreateUnbounded<int>();
        channel.Writer.TryWrite(3);
        Task<int> all = SumAsync(Task.FromResult(1), new ValueTask<int>(2), channel.Reader);
        return all.IsCompletedSuccessfully && all.Result == 6 ? Task.CompletedTask : Task.FromException(new InvalidOperationException("suspended"));
    }

    private static async Task<int> SumAsync(Task<int> done, ValueTask<int> value, ChannelReader<int> reader)
    {
        int sum = await done;
        sum += await value;
        sum += await reader.ReadAsync();
        await Task.CompletedTask;
        return sum;
    }
}

/// <summary>A completed source's task awaited through ConfigureAwait(false) and a pooled method: no suspension either.</summary>
public sealed class SynchronousPooledCompletion : Scenario
{
    public override Expected Expected => Expected.NoLeak().Synchronously();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var source = new TaskCompletionSource<int>();
        source.SetResult(5);
        ValueTask<int> read = ReadPooledAsync(source.Task);
        return read.IsCompletedSuccessfully ? Task.CompletedTask : Task.FromException(new InvalidOperationException("suspended"));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ReadPooledAsync(Task<int> source) => await source.ConfigureAwait(false);
}

/// <summary>A long-running worker, alive and resuming every few milliseconds, stopped at shutdown.</summary>
public sealed class LongRunningWorker : Scenario
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        CancellationToken stopping = _stopping.Token;
        TaskCompletionSource done = _done;
        _ = Task.Run(async () =>
        {
            int beats = 0;
            while (!stopping.IsCancellationRequested)
            {
                await Task.Delay(5);
                beats++;
            }

            done.SetResult();
        });
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _stopping.Cancel();
        return _done.Task;
    }
}

/// <summary>A consumer loop over a channel the application keeps writing to, completed at shutdown.</summary>
public sealed class LiveConsumerLoop : Scenario
{
    private readonly Channel<int> _work = Channel.CreateUnbounded<int>();
    private readonly TaskCompletionSource<int> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = Task.Run(() => ConsumeAsync(_work.Reader, _done));
        _work.Writer.TryWrite(1);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _work.Writer.TryWrite(2);
        _work.Writer.Complete();
        return _done.Task;
    }

    private static async Task ConsumeAsync(ChannelReader<int> reader, TaskCompletionSource<int> done)
    {
        int sum = 0;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out int item))
            {
                sum += item;
            }
        }

        done.SetResult(sum);
    }
}

/// <summary>A dedicated thread completes the source: its stack roots the source while it runs.</summary>
public sealed class ThreadCompletesLater : Scenario
{
    private readonly ManualResetEventSlim _go = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var reply = new TaskCompletionSource<int>();
        ManualResetEventSlim go = _go;
        new Thread(() =>
        {
            go.Wait();
            reply.SetResult(1);
        }) { IsBackground = true }.Start();
        _ = WaitAsync(reply, _done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _go.Set();
        return _done.Task;
    }

    private static async Task WaitAsync(TaskCompletionSource<int> reply, TaskCompletionSource done)
    {
        await reply.Task;
        done.SetResult();
    }
}

/// <summary>A continuation of another (kept) task completes the source.</summary>
public sealed class ContinuationCompletesSource : Scenario
{
    private readonly TaskCompletionSource _upstream = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.NoLeak();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var reply = new TaskCompletionSource<int>();
        _upstream.Task.ContinueWith(_ => reply.SetResult(1), TaskScheduler.Default);
        _ = WaitAsync(reply, _done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        _upstream.SetResult();
        return _done.Task;
    }

    private static async Task WaitAsync(TaskCompletionSource<int> reply, TaskCompletionSource done)
    {
        await reply.Task;
        done.SetResult();
    }
}

internal static class Timers
{
    /// <summary>Cancels the source if something (its timer) kept it alive, then waits for the fragment to end.</summary>
    internal static Task CancelIfAlive(WeakReference<CancellationTokenSource> source, TaskCompletionSource done)
    {
        if (!source.TryGetTarget(out CancellationTokenSource? cts))
        {
            return Task.FromException(new InvalidOperationException("the CancellationTokenSource was collected: nothing kept the operation alive"));
        }

        cts.Cancel();
        return done.Task;
    }
}
