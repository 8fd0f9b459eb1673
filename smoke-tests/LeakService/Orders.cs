using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace LeakService;

/// <summary>The service's "business" code. Each starter is NoInlining so nothing it allocated stays on a caller's stack.</summary>
public static class Orders
{
    // Reachable forever: what /stuck waits on (a shutdown signal nobody ever sends).
    private static readonly List<TaskCompletionSource<bool>> s_shutdown = new();

    /// <summary>Leaks: the confirmation source is dropped by the caller, so nothing can ever complete it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartWaitingForConfirmation() => _ = WaitForConfirmationAsync(new TaskCompletionSource<string>());

    /// <summary>Leaks a chain: ReadUpdatesAsync awaits NextUpdateAsync, which awaits a channel nobody keeps.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartReadingUpdates() => _ = ReadUpdatesAsync(Channel.CreateUnbounded<int>().Reader);

    /// <summary>Stuck, not leaked: the source stays reachable from a static, so the frame is alive.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartWaitingForShutdown()
    {
        var source = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (s_shutdown)
        {
            s_shutdown.Add(source);
        }

        _ = RunWorkerAsync(source);
    }

    public static async Task<string> CleanAsync()
    {
        await Task.Delay(1);
        await Task.Yield();
        return "done\n";
    }

    private static async Task<string> WaitForConfirmationAsync(TaskCompletionSource<string> confirmation)
    {
        string id = await confirmation.Task;
        return id;
    }

    private static async Task<int> ReadUpdatesAsync(ChannelReader<int> updates)
    {
        int total = await NextUpdateAsync(updates);
        return total;
    }

    private static async Task<int> NextUpdateAsync(ChannelReader<int> updates)
    {
        int update = await updates.ReadAsync();
        return update;
    }

    private static async Task RunWorkerAsync(TaskCompletionSource<bool> shutdown)
    {
        await WaitForShutdownAsync(shutdown);
    }

    private static async Task WaitForShutdownAsync(TaskCompletionSource<bool> shutdown)
    {
        await shutdown.Task;
    }
}
