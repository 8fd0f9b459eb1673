using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace AssemblyToProcess;

/// <summary>
/// One await per syntactic context. Each returns <c>gate + 1</c> (or the channel's item + 1); the marked line is the
/// await a dropped gate leaves the frame suspended at.
/// </summary>
public static class AwaitShapes
{
    public static int Finally;
    public static Task<int>? Missing;

    public static async Task<int> InTryFinallyAsync(Task<int> gate)
    {
        try
        {
            return await gate + 1; // await:TryFinally
        }
        finally
        {
            Interlocked.Increment(ref Finally);
        }
    }

    public static async Task<int> InTryCatchAsync(Task<int> gate)
    {
        try
        {
            return await gate + 1; // await:TryCatch
        }
        catch (ArgumentException)
        {
            return -1;
        }
    }

    public static async Task<int> InCatchAsync(Task<int> gate)
    {
        try
        {
            throw new ArgumentException("first");
        }
        catch (ArgumentException)
        {
            return await gate + 1; // await:Catch
        }
    }

    public static async Task<int> InFinallyAsync(Task<int> gate)
    {
        int value = 0;
        try
        {
            value = 1;
        }
        finally
        {
            value += await gate; // await:Finally
        }

        return value;
    }

    public static async Task<int> InUsingAsync(Task<int> gate)
    {
        using (var reader = new StringReader("text"))
        {
            return await gate + reader.Peek() - 't' + 1; // await:Using
        }
    }

    public static async Task<int> InLoopAsync(Task<int> gate)
    {
        int value = 0;
        for (int i = 0; i < 3; i++)
        {
            value = await gate + 1; // await:Loop
        }

        return value;
    }

    public static async Task<int> InSwitchAsync(Task<int> gate)
    {
        switch (Environment.ProcessorCount > 0 ? "gate" : "none")
        {
            case "gate":
                return await gate + 1; // await:Switch
            default:
                return await Task.FromResult(0);
        }
    }

    /// <summary>A switch-expression arm has no sequence point of its own: its await is reported at the switch.</summary>
    public static async Task<int> InSwitchExpressionAsync(Task<int> gate) =>
        Environment.ProcessorCount switch // await:SwitchExpression
        {
            0 => -1,
            _ => await gate + 1,
        };

    public static async Task<int> ConditionalAsync(Task<int> gate)
    {
        return await (Environment.ProcessorCount > 0 ? gate : Task.FromResult(-2)) + 1; // await:Conditional
    }

    public static async Task<int> CoalesceAsync(Task<int> gate)
    {
        return await (Missing ?? gate) + 1; // await:Coalesce
    }

    public static async Task<int> ConfigureAwaitAsync(Task<int> gate)
    {
        return await gate.ConfigureAwait(false) + 1; // await:ConfigureAwait
    }

    public static async Task<int> ConfigureAwaitChildAsync(Task<int> gate)
    {
        return await ChildAsync(gate).ConfigureAwait(false); // await:ConfigureAwaitChild
    }

    public static async Task<int> ChildAsync(Task<int> gate)
    {
        return await gate + 1; // await:Child
    }

    public static async Task<int> YieldAsync(Task<int> gate)
    {
        await Task.Yield(); // await:Yield
        return await gate + 1; // await:AfterYield
    }

    public static async Task<int> WhenAllAsync(Task<int> gate)
    {
        int[] values = await Task.WhenAll(gate, Task.FromResult(1)); // await:WhenAll
        return values[0] + values[1];
    }

    public static async Task<int> WhenAnyAsync(Task<int> gate)
    {
        Task<int> winner = await Task.WhenAny(gate, new TaskCompletionSource<int>().Task); // await:WhenAny
        return await winner + 1;
    }

    public static async Task<int> WaitAsyncAsync(Task<int> gate, CancellationToken cancellationToken)
    {
        return await gate.WaitAsync(cancellationToken) + 1; // await:WaitAsync
    }

    public static async Task<int> ChannelAsync(Channel<int> channel, CancellationToken cancellationToken)
    {
        return await channel.Reader.ReadAsync(cancellationToken) + 1; // await:Channel
    }

    public static async Task<int> SemaphoreAsync(SemaphoreSlim semaphore, Task<int> gate)
    {
        await semaphore.WaitAsync(); // await:Semaphore
        return await gate + 1;
    }

    /// <summary>A using declaration: its implicit DisposeAsync runs in hidden code after the block's last statement.</summary>
    public static async Task<int> UsingDeclarationAsync(Task<int> gate)
    {
        await using var resource = new GatedResource(gate); // await:UsingDeclaration
        return resource.Value + 1;
    }

    public static async Task<int> CustomAwaitableAsync(Task<int> gate)
    {
        return await new GateAwaitable(gate) + 1; // await:CustomAwaitable
    }

    public static async Task<int> ExtensionAwaitableAsync(Task<int> gate)
    {
        var box = new GateBox(gate);
        return await box + 1; // await:ExtensionAwaitable
    }
}

/// <summary>A struct awaitable with its own awaiter that only implements INotifyCompletion: the builder's AwaitOnCompleted.</summary>
public readonly struct GateAwaitable(Task<int> gate)
{
    public Awaiter GetAwaiter() => new(gate.GetAwaiter());

    public readonly struct Awaiter(TaskAwaiter<int> inner) : INotifyCompletion
    {
        public bool IsCompleted => inner.IsCompleted;

        public int GetResult() => inner.GetResult();

        public void OnCompleted(Action continuation) => inner.OnCompleted(continuation);
    }
}

/// <summary>Disposes by waiting for its gate, without an async method of its own.</summary>
public sealed class GatedResource(Task<int> gate) : IAsyncDisposable
{
    public int Value => 41;

    public ValueTask DisposeAsync() => new(gate);
}

/// <summary>A class made awaitable by a GetAwaiter extension method.</summary>
public sealed class GateBox(Task<int> gate)
{
    public Task<int> Gate { get; } = gate;
}

public static class GateBoxExtensions
{
    public static TaskAwaiter<int> GetAwaiter(this GateBox box) => box.Gate.GetAwaiter();
}
