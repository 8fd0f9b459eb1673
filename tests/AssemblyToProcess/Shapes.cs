using System;
using System.Threading.Tasks;

namespace AssemblyToProcess;

/// <summary>Async lambdas, anonymous methods and local functions: reported under their containing method, <c>Run</c>.</summary>
public static class Shapes
{
    public static int Offset = 1;

    public static Task<int> Run(string kind, Task<int> gate)
    {
        switch (kind)
        {
            case "capturing lambda":
                Func<Task<int>> capturing = async () => await gate + Offset; // await:CapturingLambda
                return capturing();
            case "static lambda":
                Func<Task<int>, Task<int>> lambda = static async g => await g + 1; // await:StaticLambda
                return lambda(gate);
            case "anonymous method":
                Func<Task<int>, Task<int>> anonymous = async delegate (Task<int> g) { return await g + 1; }; // await:AnonymousMethod
                return anonymous(gate);
            case "local function":
                return Local();
            case "static local function":
                return StaticLocal(gate);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        async Task<int> Local() => await gate + Offset; // await:LocalFunction

        static async Task<int> StaticLocal(Task<int> g) => await g + 1; // await:StaticLocalFunction
    }
}
