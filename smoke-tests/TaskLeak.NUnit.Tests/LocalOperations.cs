using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace TaskLeak.NUnit.Tests;

/// <summary>Operations of this (woven) assembly, apart from the samples' so their counts never mix.</summary>
internal static class LocalOperations
{
    internal const int AwaitLine = 11;

    internal static async Task ScopedAsync(TaskCompletionSource<int> source) => await source.Task;

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void DropScoped() => _ = ScopedAsync(new TaskCompletionSource<int>());
}
