using System;
using TaskLeak;

namespace TaskLeak.Benchmarks.Modes;

/// <summary>What a benchmark process measures: one build of the workloads, or a runtime detector on the plain build.</summary>
public enum BenchMode
{
    /// <summary>Workloads.Plain: the application without TaskLeak. The baseline.</summary>
    Plain,

    /// <summary>Workloads.Woven: the same sources woven by TaskLeak, runtime at its defaults.</summary>
    Woven,

    /// <summary>Workloads.Woven with creation stacks off (<see cref="CreationStackMode.None"/>): what stack sampling costs.</summary>
    WovenNoStacks,

    /// <summary>Workloads.Plain with TplEventSource event 27 (IncompleteAsyncMethod) enabled by an in-process listener.</summary>
    Event27,

    /// <summary>Workloads.Plain with the runtime's debugger task tracking on (<c>Task.s_asyncDebuggingEnabled</c>).</summary>
    DebuggerTracking,
}

/// <summary>
/// The mode of this process, read once from <see cref="Variable"/>. The peers are process-wide switches, so every mode
/// runs in its own process (a BenchmarkDotNet job, or a quick-mode worker) and never colours another's numbers.
/// </summary>
public static class ProcessMode
{
    /// <summary>The environment variable that selects the mode; unset means <see cref="BenchMode.Plain"/>.</summary>
    public const string Variable = "TASKLEAK_BENCH_MODE";

    /// <summary>The mode of this process.</summary>
    public static readonly BenchMode Current = Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>
    /// Whether the woven build runs. A static readonly bool: tier-1 code folds the branch on it, so a benchmark
    /// calls exactly one build's method with no dispatch left.
    /// </summary>
    public static readonly bool Woven = Current is BenchMode.Woven or BenchMode.WovenNoStacks;

    /// <summary>Switches on what the mode needs (idempotent) and checks that it is really on.</summary>
    public static void Activate()
    {
        switch (Current)
        {
            case BenchMode.Event27:
                IncompleteAsyncMethodListener.Start();
                break;
            case BenchMode.DebuggerTracking:
                DebuggerTaskTracking.Enable();
                break;
            case BenchMode.WovenNoStacks:
                TaskLeakDetector.Configure(static options => options.CreationStacks = CreationStackMode.None);
                break;
        }

        string? problem = Check();
        if (problem is not null)
        {
            throw new InvalidOperationException($"Benchmark mode {Current} is not in effect: {problem}");
        }
    }

    /// <summary>Null when the process is in the state its mode promises, else what is wrong.</summary>
    public static string? Check()
    {
        bool event27 = IncompleteAsyncMethodListener.IsEventEnabled();
        bool debugger = DebuggerTaskTracking.IsEnabled;
        return Current switch
        {
            BenchMode.Event27 when !event27 => "TplEventSource keyword 0x100 is not enabled at Warning",
            BenchMode.DebuggerTracking when !debugger => "Task.s_asyncDebuggingEnabled is false",
            not BenchMode.Event27 when event27 => "TplEventSource keyword 0x100 is enabled",
            not BenchMode.DebuggerTracking when debugger => "debugger task tracking is on",
            BenchMode.WovenNoStacks when TaskLeakDetector.Options.CreationStacks != CreationStackMode.None => "creation stacks are on",
            _ => null,
        };
    }

    private static BenchMode Parse(string? value) =>
        string.IsNullOrEmpty(value) ? BenchMode.Plain
        : Enum.TryParse(value, ignoreCase: true, out BenchMode mode) ? mode
        : throw new ArgumentException($"{Variable}='{value}' is not one of {string.Join(", ", Enum.GetNames<BenchMode>())}.");
}
