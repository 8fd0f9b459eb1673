using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using LeakCorpus.Harness;

namespace LeakCorpus.Leaks;

// The sources of the collectability matrix (runtime-facts.md), each dropped by its only owner: nothing can ever
// complete what the frame awaits, and nothing but the awaited object references the frame.

/// <summary>The Go article's demo: a TaskCompletionSource&lt;T&gt; nobody keeps.</summary>
public sealed class DroppedGenericSource : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(WaitForValueAsync), "leak:generic-source").WaitingOn("TaskCompletionSource<int>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = WaitForValueAsync(new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }

    private static async Task<int> WaitForValueAsync(TaskCompletionSource<int> source)
    {
        int value = await source.Task; // leak:generic-source
        return value + 1;
    }
}

/// <summary>The non-generic TaskCompletionSource.</summary>
public sealed class DroppedSource : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(WaitForSignalAsync), "leak:source").WaitingOn("TaskCompletionSource.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = WaitForSignalAsync(new TaskCompletionSource());
        return Task.CompletedTask;
    }

    private static async Task WaitForSignalAsync(TaskCompletionSource signal)
    {
        await signal.Task; // leak:source
    }
}

/// <summary>A leaked frame never runs its finally: the cleanup below never happens.</summary>
public sealed class DroppedSourceInTryFinally : Scenario
{
    public static int Released;

    public override Expected Expected => Expected.ProvenLeak(nameof(HoldLeaseAsync), "leak:try-finally").WaitingOn("TaskCompletionSource<bool>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = HoldLeaseAsync(new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        return Task.CompletedTask;
    }

    private static async Task HoldLeaseAsync(TaskCompletionSource<bool> renewal)
    {
        try
        {
            await renewal.Task; // leak:try-finally
        }
        finally
        {
            Interlocked.Increment(ref Released);
        }
    }
}

/// <summary>A consumer reads from a channel whose producer went away without completing it.</summary>
public sealed class ChannelReaderAbandoned : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(ConsumeAsync), "leak:channel-read").WaitingOn("ReadAsync");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = ConsumeAsync(Channel.CreateUnbounded<int>());
        return Task.CompletedTask;
    }

    private static async Task<int> ConsumeAsync(Channel<int> channel)
    {
        int item = await channel.Reader.ReadAsync(); // leak:channel-read
        return item;
    }
}

/// <summary>A producer writes to a full bounded channel whose consumer went away.</summary>
public sealed class ChannelWriterBlockedOnFullChannel : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(ProduceAsync), "leak:channel-write").WaitingOn("WriteAsync");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = ProduceAsync(Channel.CreateBounded<int>(1));
        return Task.CompletedTask;
    }

    private static async Task ProduceAsync(Channel<int> channel)
    {
        await channel.Writer.WriteAsync(1);
        await channel.Writer.WriteAsync(2); // leak:channel-write
    }
}

/// <summary>WaitToReadAsync on a channel nobody writes to or completes.</summary>
public sealed class ChannelWaitToReadAbandoned : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(DrainAsync), "leak:wait-to-read").WaitingOn("WaitToReadAsync");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = DrainAsync(Channel.CreateBounded<string>(4).Reader);
        return Task.CompletedTask;
    }

    private static async Task<int> DrainAsync(ChannelReader<string> reader)
    {
        int count = 0;
        while (await reader.WaitToReadAsync()) // leak:wait-to-read
        {
            while (reader.TryRead(out _))
            {
                count++;
            }
        }

        return count;
    }
}

/// <summary>An async lock whose semaphore is dropped with nobody left to release it.</summary>
public sealed class SemaphoreDropped : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(EnterAsync), "leak:semaphore").WaitingOn("SemaphoreSlim.WaitAsync()");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = EnterAsync(new SemaphoreSlim(0));
        return Task.CompletedTask;
    }

    private static async Task EnterAsync(SemaphoreSlim gate)
    {
        await gate.WaitAsync(); // leak:semaphore
        gate.Release();
    }
}

/// <summary>A lock taken and never released: the second caller waits on a semaphore both dropped.</summary>
public sealed class SemaphoreNeverReleased : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(UpdateAsync), "leak:never-released").WaitingOn("SemaphoreSlim.WaitAsync()");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        var gate = new SemaphoreSlim(1);
        _ = UpdateAsync(gate, forgetRelease: true);
        _ = UpdateAsync(gate, forgetRelease: false);
        return Task.CompletedTask;
    }

    private static async Task UpdateAsync(SemaphoreSlim gate, bool forgetRelease)
    {
        await gate.WaitAsync(); // leak:never-released
        if (!forgetRelease)
        {
            gate.Release();
        }
    }
}

/// <summary>Task.Delay(-1, token) whose CancellationTokenSource nobody keeps: no timer, nothing can cancel it.</summary>
public sealed class InfiniteDelayWithDroppedCancellation : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(PollAsync), "leak:delay-token").WaitingOn("Task.Delay");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = PollAsync(new CancellationTokenSource().Token);
        return Task.CompletedTask;
    }

    private static async Task PollAsync(CancellationToken stopping)
    {
        await Task.Delay(Timeout.Infinite, stopping); // leak:delay-token
    }
}

/// <summary>Task.Delay(Infinite) creates no timer: nothing at all references the frame.</summary>
public sealed class InfiniteDelay : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(WaitForeverAsync), "leak:delay").WaitingOn("Task.Delay");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = WaitForeverAsync();
        return Task.CompletedTask;
    }

    private static async Task WaitForeverAsync()
    {
        await Task.Delay(Timeout.InfiniteTimeSpan); // leak:delay
    }
}

/// <summary>WaitAsync(token) on a dropped source, the token's source dropped too.</summary>
public sealed class WaitAsyncWithDroppedCancellation : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(AwaitReplyAsync), "leak:wait-async").WaitingOn("WaitAsync");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = AwaitReplyAsync(new TaskCompletionSource<string>(), new CancellationTokenSource().Token);
        return Task.CompletedTask;
    }

    private static async Task<string> AwaitReplyAsync(TaskCompletionSource<string> reply, CancellationToken token)
    {
        return await reply.Task.WaitAsync(token); // leak:wait-async
    }
}

/// <summary>Task.WhenAll over sources nobody keeps.</summary>
public sealed class WhenAllOfDropped : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(GatherAsync), "leak:when-all").WaitingOn("Task.WhenAll");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = GatherAsync(new TaskCompletionSource<int>(), new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }

    private static async Task<int> GatherAsync(TaskCompletionSource<int> first, TaskCompletionSource<int> second)
    {
        int[] values = await Task.WhenAll(first.Task, second.Task); // leak:when-all
        return values.Length;
    }
}

/// <summary>Task.WhenAny over sources nobody keeps: no winner can ever arrive.</summary>
public sealed class WhenAnyOfDropped : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(RaceAsync), "leak:when-any").WaitingOn("Task.WhenAny");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = RaceAsync(new TaskCompletionSource<int>(), new TaskCompletionSource<int>());
        return Task.CompletedTask;
    }

    private static async Task<int> RaceAsync(TaskCompletionSource<int> primary, TaskCompletionSource<int> replica)
    {
        Task<int> winner = await Task.WhenAny(primary.Task, replica.Task); // leak:when-any
        return winner.Result;
    }
}

/// <summary>ConfigureAwait(false) changes where the continuation runs, not who can complete the source.</summary>
public sealed class ConfigureAwaitFalse : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(LoadAsync), "leak:configure-await").WaitingOn("ConfigureAwait(false)");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = LoadAsync(new TaskCompletionSource<byte[]>());
        return Task.CompletedTask;
    }

    private static async Task<int> LoadAsync(TaskCompletionSource<byte[]> response)
    {
        byte[] body = await response.Task.ConfigureAwait(false); // leak:configure-await
        return body.Length;
    }
}

/// <summary>An object whose pending request nobody can answer any more: the frame, the object and its source form an unreachable cycle.</summary>
public sealed class InstanceMethodOnDroppedObject : Scenario
{
    public override Expected Expected => Expected.ProvenLeak("Connection.ReceiveAsync", "leak:instance").WaitingOn("TaskCompletionSource<string>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = new Connection().ReceiveAsync();
        return Task.CompletedTask;
    }

    public sealed class Connection
    {
        private readonly TaskCompletionSource<string> _reply = new();

        public async Task<string> ReceiveAsync()
        {
            string reply = await _reply.Task; // leak:instance
            return reply.Trim();
        }
    }
}

/// <summary>A handler waits for an event of a publisher that is dropped with the handler attached.</summary>
public sealed class EventNeverRaised : Scenario
{
    public override Expected Expected => Expected.ProvenLeak(nameof(WaitForChangeAsync), "leak:event").WaitingOn("TaskCompletionSource<string>.Task");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override Task Start()
    {
        _ = WaitForChangeAsync(new Publisher());
        return Task.CompletedTask;
    }

    private static async Task<string> WaitForChangeAsync(Publisher publisher)
    {
        var changed = new TaskCompletionSource<string>();
        publisher.Changed += value => changed.TrySetResult(value);
        return await changed.Task; // leak:event
    }

    public sealed class Publisher
    {
        public event Action<string>? Changed;

        public void Raise(string value) => Changed?.Invoke(value);
    }
}
