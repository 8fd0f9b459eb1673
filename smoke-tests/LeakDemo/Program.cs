using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using TaskLeak;

namespace LeakDemo;

/// <summary>
/// The Go goroutine-leak demo, in C#: an async method waits on a completion source that nothing else can reach
/// once CreateLeakedTask returns. The garbage collector proves the method can never resume; TaskLeak reports it.
/// </summary>
public static class Program
{
    public static int Main()
    {
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddSimpleConsole(o => o.SingleLine = false));
        TaskLeakDetector.UseLoggerFactory(loggers);

        CreateLeakedTask();
        Console.WriteLine("Created a leaked task - the completion source is now unreachable");

        TaskLeakReport report = TaskLeakDetector.DetectNow();
        Console.WriteLine();
        Console.WriteLine(report);
        return report.IsEmpty ? 1 : 0;
    }

    // Starts an async method that waits on a TaskCompletionSource nobody will ever complete or reference again.
    private static void CreateLeakedTask()
    {
        var source = new TaskCompletionSource<int>();
        _ = WaitForValueAsync(source);
    }

    private static async Task WaitForValueAsync(TaskCompletionSource<int> source)
    {
        Console.WriteLine("Leaked task started - waiting for a value");
        int value = await source.Task; // This task will never complete
        Console.WriteLine($"Leaked task should never reach this line ({value})");
    }
}
