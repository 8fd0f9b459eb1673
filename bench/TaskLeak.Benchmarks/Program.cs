using System;
using System.Linq;
using BenchmarkDotNet.Running;
using TaskLeak.Benchmarks.Quick;
using TaskLeak.Benchmarks.Smoke;

namespace TaskLeak.Benchmarks;

/// <summary>
/// <c>--quick</c>: the one-table summary (under 3 minutes). <c>--smoke</c>: run everything once, for CI.
/// Anything else: a normal BenchmarkDotNet run (<c>--filter *</c>, <c>--list flat</c>, ...) of
/// <see cref="AsyncWorkloads"/> (four jobs: plain, woven, event 27, debugger tracking) and <see cref="HookCosts"/>.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--quick"))
        {
            return QuickRun.Run();
        }

        if (args.Contains("--smoke"))
        {
            return SmokeRun.Run();
        }

        int worker = Array.IndexOf(args, "--worker");
        if (worker >= 0)
        {
            int output = Array.IndexOf(args, "--out");
            if (worker + 1 >= args.Length || output < 0 || output + 1 >= args.Length)
            {
                Console.Error.WriteLine("usage: --worker <name> --out <report.json> [--small]");
                return 2;
            }

            return Worker.Run(args[worker + 1], args[output + 1], args.Contains("--small"));
        }

        BenchmarkSwitcher.FromTypes(new[] { typeof(AsyncWorkloads), typeof(HookCosts) }).Run(args);
        return 0;
    }
}
