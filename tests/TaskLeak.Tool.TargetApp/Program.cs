using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using TaskLeak;

namespace TaskLeak.Tool.TargetApp;

/// <summary>
/// Started by the tool's tests: <c>TaskLeak.Tool.TargetApp [pending] [leaked] [depth]</c> suspends <c>pending</c> operations
/// that stay reachable and <c>leaked</c> ones whose completion source is dropped, plus one leak started <c>depth</c> calls
/// deep (a creation stack long enough that its report needs several reply chunks), prints <c>ready PID</c>, then obeys lines on
/// standard input: <c>report FILE</c> (its own in-process view as JSON), <c>spawn N</c> (N more reachable operations at
/// another await), <c>chain N</c> (N reachable three-deep chains: <c>OuterChainAsync</c> awaits <c>MiddleChainAsync</c>
/// awaits <c>InnerChainAsync</c>, a known logical async stack), <c>exit</c>. <c>plain</c> as the first argument runs no woven code at all (a process without TaskLeak).
/// </summary>
public static class Program
{
    private static readonly List<TaskCompletionSource<int>> s_gates = new();

    public static int Main(string[] args)
    {
        bool plain = args.Length > 0 && args[0] == "plain";
        if (!plain)
        {
            int pending = args.Length > 0 ? int.Parse(args[0]) : 7;
            int leaked = args.Length > 1 ? int.Parse(args[1]) : 5;
            for (int i = 0; i < pending; i++)
            {
                _ = WaitForGateAsync(NewGate());
            }

            StartLeaks(leaked);
            if (args.Length > 2)
            {
                StartDeepLeak(int.Parse(args[2]));
            }
        }

        Console.WriteLine("ready " + Environment.ProcessId);
        for (string? line; (line = Console.ReadLine()) is not null;)
        {
            string[] words = line.Split(' ', 2);
            switch (words[0])
            {
                case "report" when !plain:
                    File.WriteAllText(words[1], "{\"snapshot\":" + TaskLeakDetector.Snapshot().ToJson() +
                        ",\"report\":" + TaskLeakDetector.GetReport().ToJson() + "}");
                    break;
                case "spawn" when !plain:
                    for (int i = int.Parse(words[1]); i > 0; i--)
                    {
                        _ = SpawnedLaterAsync(NewGate());
                    }

                    break;
                case "chain" when !plain:
                    for (int i = int.Parse(words[1]); i > 0; i--)
                    {
                        _ = OuterChainAsync(NewGate());
                    }

                    break;
                case "exit":
                    return 0;
            }

            Console.WriteLine("ok");
        }

        return 0;
    }

    private static TaskCompletionSource<int> NewGate()
    {
        var gate = new TaskCompletionSource<int>();
        s_gates.Add(gate);
        return gate;
    }

    // Not inlined: no local of Main may keep a dropped completion source alive.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartLeaks(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _ = LeakAsync(new TaskCompletionSource<int>());
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartDeepLeak(int depth)
    {
        if (depth > 0)
        {
            StartDeepLeak(depth - 1);
        }
        else
        {
            _ = DeepLeakAsync(new TaskCompletionSource<int>());
        }
    }

    private static async Task<int> DeepLeakAsync(TaskCompletionSource<int> dropped)
    {
        int value = await dropped.Task;
        return value - 1;
    }

    private static async Task<int> WaitForGateAsync(TaskCompletionSource<int> gate)
    {
        int value = await gate.Task;
        return value + 1;
    }

    private static async Task<int> LeakAsync(TaskCompletionSource<int> dropped)
    {
        int value = await dropped.Task;
        return value + 1;
    }

    private static async Task<int> SpawnedLaterAsync(TaskCompletionSource<int> gate)
    {
        int value = await gate.Task;
        return value * 2;
    }

    private static async Task<int> OuterChainAsync(TaskCompletionSource<int> gate)
    {
        int value = await MiddleChainAsync(gate);
        return value + 3;
    }

    private static async Task<int> MiddleChainAsync(TaskCompletionSource<int> gate)
    {
        int value = await InnerChainAsync(gate);
        return value + 2;
    }

    private static async Task<int> InnerChainAsync(TaskCompletionSource<int> gate)
    {
        int value = await gate.Task;
        return value + 1;
    }
}
