using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using LeakCorpus.Harness;

namespace LeakCorpus.Stalled;

// Reachable but stuck: the frame can still be reached, so the GC proves nothing and no detector may call it
// leaked — yet nothing in the program will ever complete it. Only TaskLeak's stalled tier (age-based, labelled
// "suspected — still reachable") names them. Finish is the test's cleanup, not something the program would do.

/// <summary>A source kept in a static, never completed.</summary>
public sealed class StaticSourceNeverCompleted : Scenario
{
    private static TaskCompletionSource<int>? s_ready;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.Stalled(nameof(WaitUntilReadyAsync), "stall:static-source").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        s_ready = new TaskCompletionSource<int>();
        _ = WaitUntilReadyAsync(s_ready, _done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        Interlocked.Exchange(ref s_ready, null)!.SetResult(0);
        return _done.Task;
    }

    private static async Task WaitUntilReadyAsync(TaskCompletionSource<int> ready, TaskCompletionSource done)
    {
        await ready.Task; // stall:static-source
        done.SetResult();
    }
}

/// <summary>
/// The caller keeps the outer task in a static list; the inner source is dropped. The outer frame holds its awaiter,
/// which holds the inner task, which holds the inner frame: all reachable. The inner source is reachable only from
/// the inner task (through a ConditionalWeakTable entry), so the cleanup can still complete it.
/// </summary>
public sealed class CallerKeepsOuterTask : Scenario
{
    private static readonly List<Task> s_inFlight = new();
    private static readonly ConditionalWeakTable<Task, TaskCompletionSource<int>> s_sources = new();

    public override Expected Expected => Expected.Stalled(nameof(ReadAsync), "stall:inner").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        s_inFlight.Add(RequestAsync());
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        foreach (KeyValuePair<Task, TaskCompletionSource<int>> entry in s_sources)
        {
            entry.Value.TrySetResult(0);
        }

        Task all = Task.WhenAll(s_inFlight);
        s_inFlight.Clear();
        return all;
    }

    private static async Task<int> RequestAsync() => await ReadAsync(); // stall:outer

    private static async Task<int> ReadAsync()
    {
        var reply = new TaskCompletionSource<int>();
        s_sources.Add(reply.Task, reply);
        return await reply.Task; // stall:inner
    }
}

/// <summary>WhenAny(dropped, static): the static source roots the WhenAny promise, and the frame with it.</summary>
public sealed class WhenAnyOfDroppedAndStatic : Scenario
{
    private static TaskCompletionSource<int>? s_shutdown;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.Stalled(nameof(ReceiveOrShutdownAsync), "stall:when-any").WaitingOn("Task.WhenAny");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        s_shutdown = new TaskCompletionSource<int>();
        _ = ReceiveOrShutdownAsync(new TaskCompletionSource<int>(), s_shutdown, _done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        Interlocked.Exchange(ref s_shutdown, null)!.SetResult(0);
        return _done.Task;
    }

    private static async Task ReceiveOrShutdownAsync(TaskCompletionSource<int> message, TaskCompletionSource<int> shutdown, TaskCompletionSource done)
    {
        await Task.WhenAny(message.Task, shutdown.Task); // stall:when-any
        done.SetResult();
    }
}

/// <summary>Awaiting Task.Run whose delegate blocks forever on an event: the blocked thread's stack is a root.</summary>
public sealed class TaskRunBlockedForever : Scenario
{
    private static readonly ManualResetEventSlim s_never = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.Stalled(nameof(OffloadAsync), "stall:task-run").WaitingOn("Task.Run");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        s_never.Reset();
        _ = OffloadAsync(_done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        s_never.Set();
        return _done.Task;
    }

    private static async Task OffloadAsync(TaskCompletionSource done)
    {
        await Task.Run(() => s_never.Wait()); // stall:task-run
        done.SetResult();
    }
}

/// <summary>An async lock in a static whose holder forgot to release it.</summary>
public sealed class StaticSemaphoreNeverReleased : Scenario
{
    private static readonly SemaphoreSlim s_lock = new(0);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.Stalled(nameof(UpdateAsync), "stall:semaphore").WaitingOn("WaitAsync");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = UpdateAsync(_done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        s_lock.Release();
        return _done.Task;
    }

    private static async Task UpdateAsync(TaskCompletionSource done)
    {
        await s_lock.WaitAsync(); // stall:semaphore
        done.SetResult();
    }
}

/// <summary>A consumer of a static channel nobody writes to any more.</summary>
public sealed class StaticChannelNeverWritten : Scenario
{
    private static readonly Channel<int> s_events = Channel.CreateUnbounded<int>();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.Stalled(nameof(NextEventAsync), "stall:channel").WaitingOn("ReadAsync");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = NextEventAsync(_done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        s_events.Writer.TryWrite(1);
        return _done.Task;
    }

    private static async Task NextEventAsync(TaskCompletionSource done)
    {
        await s_events.Reader.ReadAsync(); // stall:channel
        done.SetResult();
    }
}

/// <summary>Task.Delay(-1, token) on an application-lifetime token that is never cancelled.</summary>
public sealed class StaticTokenNeverCancelled : Scenario
{
    private static CancellationTokenSource? s_lifetime;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Expected Expected => Expected.Stalled(nameof(RunUntilShutdownAsync), "stall:token").WaitingOn("Task.Delay");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        s_lifetime = new CancellationTokenSource();
        _ = RunUntilShutdownAsync(s_lifetime.Token, _done);
        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        Interlocked.Exchange(ref s_lifetime, null)!.Cancel();
        return _done.Task;
    }

    private static async Task RunUntilShutdownAsync(CancellationToken lifetime, TaskCompletionSource done)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, lifetime); // stall:token
        }
        catch (OperationCanceledException)
        {
        }

        done.SetResult();
    }
}

/// <summary>Five subscribers registered in a static list, never notified: one site, five stalled operations.</summary>
public sealed class StaticSubscribersNeverNotified : Scenario
{
    private static readonly List<TaskCompletionSource<string>> s_subscribers = new();
    private readonly List<Task> _waiting = new();

    public override Expected Expected => Expected.Stalled(nameof(SubscribeAsync), "stall:subscribers").Times(5).WaitingOn("TaskCompletionSource<string>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        for (int i = 0; i < 5; i++)
        {
            var subscriber = new TaskCompletionSource<string>();
            s_subscribers.Add(subscriber);
            _waiting.Add(SubscribeAsync(subscriber));
        }

        return Task.CompletedTask;
    }

    public override Task Finish()
    {
        foreach (TaskCompletionSource<string> subscriber in s_subscribers)
        {
            subscriber.SetResult("bye");
        }

        s_subscribers.Clear();
        return Task.WhenAll(_waiting);
    }

    private static async Task<int> SubscribeAsync(TaskCompletionSource<string> subscriber)
    {
        string message = await subscriber.Task; // stall:subscribers
        return message.Length;
    }
}
