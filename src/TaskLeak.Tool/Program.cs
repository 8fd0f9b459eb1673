using System;
using System.Threading;
using System.Threading.Tasks;

namespace TaskLeak.Tool;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // Ctrl+C stops monitor (or a request) cleanly: the EventPipe session is stopped, the exit code is 0.
            e.Cancel = true;
            cancellation.Cancel();
        };
        return await Cli.RunAsync(args, Console.Out, Console.Error, Console.IsOutputRedirected, cancellation.Token).ConfigureAwait(false);
    }
}
