using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace LeakService;

/// <summary>
/// For measuring the cost of one detection on a realistic heap (docs/production.md), off unless asked:
/// LEAKSERVICE_BALLAST_MB keeps that many MB of small linked objects alive, LEAKSERVICE_PENDING parks that many
/// operations on a reachable completion source.
/// </summary>
internal static class Ballast
{
    private static Node[]? s_nodes;
    private static TaskCompletionSource<bool>? s_parked;

    internal static void FromEnvironment()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("LEAKSERVICE_BALLAST_MB"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int mb) && mb > 0)
        {
            // ~160 B per node (object header, two references, a long and a 96-byte array): many small objects, like a cache.
            int count = (int)((long)mb * 1024 * 1024 / 160);
            s_nodes = new Node[count];
            for (int i = 0; i < count; i++)
            {
                s_nodes[i] = new Node { Next = i > 0 ? s_nodes[i - 1] : null, Value = i, Payload = new byte[96] };
            }
        }

        if (int.TryParse(Environment.GetEnvironmentVariable("LEAKSERVICE_PENDING"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int pending) && pending > 0)
        {
            s_parked = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Park(s_parked, pending);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Park(TaskCompletionSource<bool> source, int count)
    {
        for (int i = 0; i < count; i++)
        {
            _ = ParkedAsync(source);
        }
    }

    private static async Task ParkedAsync(TaskCompletionSource<bool> source)
    {
        await source.Task;
    }

    private sealed class Node
    {
        public Node? Next;
        public long Value;
        public byte[]? Payload;
    }
}
