using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace TaskLeak.SmokeTests;

/// <summary>
/// A few of the weaver's shapes, woven by the real Fody build in both optimizations. Each starter is NoInlining and
/// drops everything it created, so the suspended frame is reachable only from the dropped awaitable.
/// </summary>
public static class ShapeScenarios
{
    public static async ValueTask<int> ValueTaskAsync(Task<int> gate) => await gate + 1; // await:ValueTask

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<int> PooledAsync(Task<int> gate) => await gate + 1; // await:Pooled

    public static async void VoidAsync(Task<int> gate, TaskCompletionSource<int> done) => done.SetResult(await gate + 1); // await:Void

    public static async IAsyncEnumerable<int> IteratorAsync(Task<int> gate)
    {
        yield return 1;
        yield return await gate; // await:Iterator
    }

    public static Task<int> Run(Task<int> gate)
    {
        Func<Task<int>> lambda = async () => await gate + 1; // await:Lambda
        return lambda();
    }

    public static async Task<int> OuterAsync(Task<int> gate) => await InnerAsync(gate).ConfigureAwait(false); // await:Outer

    public static async Task<int> InnerAsync(Task<int> gate) => await gate + 1; // await:Inner

    public static async Task<int> ReadAsync(Channel<int> channel) => await channel.Reader.ReadAsync() + 1; // await:Channel

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartValueTask() => _ = ValueTaskAsync(new TaskCompletionSource<int>().Task);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartPooled() => _ = PooledAsync(new TaskCompletionSource<int>().Task);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartVoid() => VoidAsync(new TaskCompletionSource<int>().Task, new TaskCompletionSource<int>());

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartIterator()
    {
        IAsyncEnumerator<int> items = IteratorAsync(new TaskCompletionSource<int>().Task).GetAsyncEnumerator();
        _ = items.MoveNextAsync();
        _ = items.MoveNextAsync();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartLambda() => _ = Run(new TaskCompletionSource<int>().Task);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartNestedGeneric() => _ = Outer<string>.Inner<int>.EchoAsync(new TaskCompletionSource<int>().Task);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartChain() => _ = OuterAsync(new TaskCompletionSource<int>().Task);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartChannel() => _ = ReadAsync(Channel.CreateUnbounded<int>());

    public static class Outer<T>
    {
        public static class Inner<U>
        {
            public static async Task<int> EchoAsync(Task<int> gate) => await gate + 1; // await:NestedGeneric
        }
    }
}
