using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace TaskLeak.MSTest.Samples;

/// <summary>
/// Async methods with known fates, one await site each so every sample's report can be told apart. Starters are
/// NoInlining so nothing they allocate stays on the calling test's stack.
/// </summary>
public static class Operations
{
    public static int FinallyRuns;

    public static async Task DirectAsync(TaskCompletionSource<int> source)
    {
        try
        {
            await source.Task;
        }
        finally
        {
            Interlocked.Increment(ref FinallyRuns);
        }
    }

    public static async Task SpawnedAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task<int> OuterAsync(TaskCompletionSource<int> source) => await MiddleAsync(source) + 1;

    public static async Task<int> MiddleAsync(TaskCompletionSource<int> source) => await InnerAsync(source) + 1;

    public static async Task<int> InnerAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task CaseAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task IgnoredByMethodAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task WarnedAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task OptedOutAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task NearestAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task FailingAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task AssertedAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task InnerScopeAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task EscapedAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task EscapedUnattributedAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task BeforeTestAsync(TaskCompletionSource<int> source) => await source.Task;

    public static async Task PrecedingAsync(TaskCompletionSource<int> source) => await source.Task;

    /// <summary>Suspended on a source its fixture keeps in a static and completes in its OneTimeTearDown: stalled, never leaked.</summary>
    public static async Task ParkedAsync(TaskCompletionSource<int> parking) => await parking.Task;

    public static async Task FinishingAsync(Task work) => await work;

    public static TaskCompletionSource<int> NewParking() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts <paramref name="operation"/> on a completion source nobody keeps: a proven leak at the next collection.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Drop(System.Func<TaskCompletionSource<int>, Task> operation) => _ = operation(new TaskCompletionSource<int>());
}
