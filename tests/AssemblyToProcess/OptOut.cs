using System;
using System.Threading.Tasks;
using TaskLeak;

namespace AssemblyToProcess;

/// <summary>[DoNotTrack] on methods: the method and its lambdas and local functions are left untouched.</summary>
public static class OptOut
{
    [DoNotTrack]
    public static async Task<int> OptedOutAsync(Task<int> gate) => await gate + 1;

    [DoNotTrack]
    public static Task<int> OptedOutLambda(Task<int> gate)
    {
        Func<Task<int>> lambda = async () => await gate + 1;
        return lambda();
    }

    [DoNotTrack]
    public static Task<int> OptedOutLocalFunction(Task<int> gate)
    {
        return Local();

        async Task<int> Local() => await gate + 1;
    }

    /// <summary>The control: the same shape, tracked.</summary>
    public static async Task<int> TrackedAsync(Task<int> gate) => await gate + 1;
}

/// <summary>[DoNotTrack] on a type: its async methods, its lambdas, and its nested types' methods.</summary>
[DoNotTrack]
public static class OptedOutType
{
    public static async Task<int> MethodAsync(Task<int> gate) => await gate + 1;

    public static Task<int> Lambda(Task<int> gate)
    {
        Func<Task<int>> lambda = async () => await gate + 1;
        return lambda();
    }

    public static Task<int> Nested(Task<int> gate) => Inner.MethodAsync(gate);

    public static class Inner
    {
        public static async Task<int> MethodAsync(Task<int> gate) => await gate + 1;
    }
}
