using System;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace AssemblyToProcess;

/// <summary>
/// One async method per builder. Each awaits <c>gate</c> once (the line marked <c>await:Name</c>) and returns
/// <c>gate + 1</c>, so the tests drive every woven path the same way: completed gate, later result, fault, cancel, drop.
/// </summary>
public static class MethodShapes
{
    public static async Task TaskAsync(Task<int> gate)
    {
        await gate; // await:Task
    }

    public static async Task<int> TaskOfTAsync(Task<int> gate)
    {
        return await gate + 1; // await:TaskOfT
    }

    public static async ValueTask ValueTaskAsync(Task<int> gate)
    {
        await gate; // await:ValueTask
    }

    public static async ValueTask<int> ValueTaskOfTAsync(Task<int> gate)
    {
        return await gate + 1; // await:ValueTaskOfT
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public static async ValueTask PooledAsync(Task<int> gate)
    {
        await gate; // await:Pooled
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<int> PooledOfTAsync(Task<int> gate)
    {
        return await gate + 1; // await:PooledOfT
    }

    /// <summary>Reports its outcome through <paramref name="done"/>: an exception escaping an async void has nowhere else to go.</summary>
    public static async void VoidAsync(Task<int> gate, TaskCompletionSource<int> done)
    {
        try
        {
            done.SetResult(await gate + 1); // await:Void
        }
        catch (OperationCanceledException)
        {
            done.SetCanceled();
        }
        catch (Exception exception)
        {
            done.SetException(exception);
        }
    }

    /// <summary>Lets exceptions escape to the synchronization context: the builder's SetException path.</summary>
    public static async void VoidThrowsAsync(Task<int> gate)
    {
        await gate; // await:VoidThrows
        throw new InvalidOperationException("escaped from async void");
    }

    public static async CustomTask<int> CustomAsync(Task<int> gate)
    {
        return await gate + 1; // await:Custom
    }

    /// <summary>The builder is AsyncTaskMethodBuilder&lt;T&gt; over the state machine's own type parameter.</summary>
    public static async Task<T> GenericMethodAsync<T>(Task<int> gate, Func<int, T> map)
    {
        return map(await gate + 1); // await:GenericMethod
    }

    /// <summary>Over a value type, and over a reference type (shared code with generic dictionary lookups in Release).</summary>
    public static Task<int> GenericMethodOverIntAsync(Task<int> gate) => GenericMethodAsync(gate, static v => v);

    public static Task<string> GenericMethodOverStringAsync(Task<int> gate) => GenericMethodAsync(gate, static v => v.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static Task<int> NestedGenericAsync(Task<int> gate) => Outer<string>.Inner<int>.EchoAsync(gate, "x", 1);

    public static ValueTask<int> NestedGenericValueAsync(Task<int> gate) => Outer<string>.Inner<int>.EchoValueAsync(gate, 1);

    public static Task<int> GenericTypeAsync(Task<int> gate) => new Outer<object>().InstanceAsync(gate);
}

/// <summary>Async methods in a generic type and a nested generic type: state-machine fields need self-instantiated references.</summary>
public class Outer<T>
{
    public T? Last;

    public async Task<int> InstanceAsync(Task<int> gate)
    {
        int value = await gate; // await:GenericType
        Last = default;
        return value + 1;
    }

    public static class Inner<U>
    {
        public static async Task<int> EchoAsync(Task<int> gate, T first, U second)
        {
            int value = await gate; // await:NestedGeneric
            GC.KeepAlive(first);
            GC.KeepAlive(second);
            return value + 1;
        }

        public static async ValueTask<int> EchoValueAsync(Task<int> gate, U second)
        {
            int value = await gate; // await:NestedGenericValue
            GC.KeepAlive(second);
            return value + 1;
        }
    }
}
