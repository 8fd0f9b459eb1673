using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using TaskLeak.Benchmarks.Modes;
using static TaskLeak.Benchmarks.Quick.Goals;

namespace TaskLeak.Benchmarks.Quick;

/// <summary>
/// <c>--quick</c>: every workload once per mode (each mode in its own process, BenchmarkDotNet in-process and short),
/// the hook profile, the sweep, report-latency and weave-time measurements, then one table and the goals.
/// </summary>
internal static class QuickRun
{
    private sealed record Row(string Name, string Label, int Operations, bool TaskShaped);

    private static readonly Row[] s_rows =
    {
        new("SyncCompletion", "sync completion (no suspension)", 1, false),
        new("InlineSuspension", "one suspension, resumed inline", 1, true),
        new("TaskSourceSuspension", "one suspension on a TCS task", 1, true),
        new("ThreeAwaits", "three awaits, resumed inline", 1, true),
        new("TaskYield", "await Task.Yield()", 1, true),
        new("TaskRun", "await Task.Run(...)", 1, true),
        new("Chain10", "10-deep await chain (10 ops)", 10, true),
        new("ParallelAllCores", "inline suspensions, all cores (per op)", 1, true),
        new("ValueTaskSuspension", "ValueTask<int>, one suspension", 1, false),
        new("AsyncIterator", "async iterator, 3 items (3 ops)", 3, false),
    };

    /// <summary>How far the two plain runs of each workload were apart: the process-to-process noise of this run.</summary>
    private static readonly Dictionary<string, double> s_plainSpread = new();

    internal static int Run()
    {
        if (!IsOptimized(typeof(TaskLeakDetector).Assembly) || !IsOptimized(typeof(QuickRun).Assembly))
        {
            Console.Error.WriteLine("The quick mode measures Release builds: dotnet run -c Release --project bench/TaskLeak.Benchmarks -- --quick");
            return 1;
        }

        long began = Stopwatch.GetTimestamp();
        string loadBefore = LoadAverage();
        var failures = new List<string>();
        var modes = new Dictionary<BenchMode, Dictionary<string, BenchmarkFigure>>();
        // Plain and woven run twice, interleaved with the rest, and each keeps its better median: load from other
        // work on a shared machine only ever adds time, and it comes and goes over tens of seconds.
        BenchMode[] order =
        {
            BenchMode.Plain, BenchMode.Woven, BenchMode.Event27, BenchMode.DebuggerTracking, BenchMode.WovenNoStacks,
            BenchMode.Woven, BenchMode.Plain,
        };
        foreach (BenchMode mode in order)
        {
            WorkerReport report = Step(Worker.Workloads, mode, failures);
            Dictionary<string, BenchmarkFigure> figures = modes.TryGetValue(mode, out var seen) ? seen : modes[mode] = new();
            foreach (BenchmarkFigure figure in report.Benchmarks)
            {
                if (figures.TryGetValue(figure.Name, out BenchmarkFigure? earlier) && mode == BenchMode.Plain)
                {
                    s_plainSpread[figure.Name] = Math.Abs(figure.MedianNs - earlier.MedianNs);
                }

                if (earlier is null || figure.MedianNs < earlier.MedianNs)
                {
                    figures[figure.Name] = figure;
                }
            }
        }

        WorkerReport hooks = Step(Worker.Hooks, BenchMode.Woven, failures);
        WorkerReport sweep = Step(Worker.Sweep, BenchMode.Woven, failures);
        WorkerReport latency = Step(Worker.Latency, BenchMode.Woven, failures);
        WorkerReport weave = Step(Worker.Weave, BenchMode.Woven, failures);

        Console.WriteLine();
        Console.WriteLine($"TaskLeak.Fody quick benchmarks: {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, " +
            $"{Environment.ProcessorCount} cores; BenchmarkDotNet in-process, one process per mode, medians (plain and woven: the better of two runs), ratios to plain from this run");
        Console.WriteLine($"Load average (1 min) {loadBefore} at the start, {LoadAverage()} at the end: other work on the machine inflates every figure.");
        Console.WriteLine();
        PrintTable(modes);
        Console.WriteLine();
        Console.WriteLine("Separate measurements");
        foreach (WorkerReport report in new[] { sweep, latency, weave })
        {
            foreach ((string name, double value) in report.Figures)
            {
                Console.WriteLine($"  {name,-58} {F(value, 2),10}");
            }

            foreach (string note in report.Notes)
            {
                Console.WriteLine($"  {note}");
            }
        }

        Console.WriteLine();
        Console.WriteLine("Woven with creation stacks off (CreationStacks = None): the share of stack sampling");
        foreach (string name in Worker.NoStacksWorkloads)
        {
            BenchmarkFigure? plain = Get(modes, BenchMode.Plain, name);
            BenchmarkFigure? woven = Get(modes, BenchMode.Woven, name);
            BenchmarkFigure? noStacks = Get(modes, BenchMode.WovenNoStacks, name);
            Console.WriteLine($"  {name,-28} {Ns(noStacks),10} ns {RatioTo(noStacks, plain),7} {ExtraBytes(noStacks, plain),5} B   (woven with stacks: {RatioTo(woven, plain)}, {ExtraBytes(woven, plain)} B)");
        }

        Console.WriteLine();
        Console.WriteLine("Hook profile (woven hooks and Begin's pieces, in isolation; ns/op, B/op)");
        foreach (BenchmarkFigure figure in hooks.Benchmarks)
        {
            Console.WriteLine($"  {figure.Name,-28} {F(figure.MedianNs, 2),10} ns {Bytes(figure.BytesPerOp),8}");
        }

        Console.WriteLine();
        Goals goals = Judge(modes, sweep, latency);
        Console.WriteLine("Goals");
        foreach (string line in goals.Lines)
        {
            Console.WriteLine("  " + line);
        }

        foreach (string failure in failures)
        {
            Console.WriteLine("  ERROR " + failure);
        }

        Console.WriteLine();
        Console.WriteLine($"{goals.Met} goals met, {goals.Missed} missed, {goals.Unmeasured} not measured, {failures.Count} errors; " +
            $"quick mode took {Stopwatch.GetElapsedTime(began).TotalSeconds:F0} s");
        return failures.Count == 0 ? 0 : 1;
    }

    private static WorkerReport Step(string worker, BenchMode mode, List<string> failures)
    {
        Console.Error.Write($"[quick] {worker} ({mode}) ... ");
        (WorkerReport report, TimeSpan elapsed) = ChildProcess.RunWorker(worker, mode, small: false);
        Console.Error.WriteLine($"{elapsed.TotalSeconds:F1} s{(report.Failures.Count > 0 ? ", " + report.Failures.Count + " problem(s)" : "")}");
        failures.AddRange(report.Failures.Select(f => $"{worker} ({mode}): {f}"));
        return report;
    }

    private static void PrintTable(Dictionary<BenchMode, Dictionary<string, BenchmarkFigure>> modes)
    {
        Console.WriteLine("| workload | plain ns | woven ns | ratio | extra B | event-27 ratio | debugger ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (Row row in s_rows)
        {
            BenchmarkFigure? plain = Get(modes, BenchMode.Plain, row.Name);
            BenchmarkFigure? woven = Get(modes, BenchMode.Woven, row.Name);
            BenchmarkFigure? event27 = Get(modes, BenchMode.Event27, row.Name);
            BenchmarkFigure? debugger = Get(modes, BenchMode.DebuggerTracking, row.Name);
            Console.WriteLine($"| {row.Label} | {Ns(plain)} | {Ns(woven)} | {RatioTo(woven, plain)} | {ExtraBytes(woven, plain)} | " +
                $"{RatioTo(event27, plain)} | {RatioTo(debugger, plain)} |");
        }
    }

    private static Goals Judge(Dictionary<BenchMode, Dictionary<string, BenchmarkFigure>> modes, WorkerReport sweep, WorkerReport latency)
    {
        var goals = new Goals();
        BenchmarkFigure? plain = Get(modes, BenchMode.Plain, "InlineSuspension");
        BenchmarkFigure? woven = Get(modes, BenchMode.Woven, "InlineSuspension");
        BenchmarkFigure? event27 = Get(modes, BenchMode.Event27, "InlineSuspension");
        if (plain is null || woven is null)
        {
            goals.Judge("one inline suspension: woven/plain <= 1.35x", null, "not measured");
        }
        else
        {
            double ratio = woven.MedianNs / plain.MedianNs;
            goals.Judge("one inline suspension: woven/plain <= 1.35x", ratio <= 1.35,
                $"{Ratio(ratio)} ({Signed(woven.MedianNs - plain.MedianNs)} ns on {F(plain.MedianNs)} ns; the goal allows ~+15 ns)");
            if (event27 is not null)
            {
                double ours = woven.MedianNs - plain.MedianNs;
                double theirs = event27.MedianNs - plain.MedianNs;
                goals.Judge("one inline suspension: overhead <= 1/3 of event 27's", ours <= theirs / 3,
                    $"{Signed(ours)} ns vs event 27's {Signed(theirs)} ns (1/3 = {F(theirs / 3)} ns)");
            }
        }

        BenchmarkFigure? syncPlain = Get(modes, BenchMode.Plain, "SyncCompletion");
        BenchmarkFigure? syncWoven = Get(modes, BenchMode.Woven, "SyncCompletion");
        if (syncPlain is not null && syncWoven is not null)
        {
            // Overhead is one-sided. Between processes a few percent is noise here (the two plain runs' spread is printed).
            double difference = syncWoven.MedianNs - syncPlain.MedianNs;
            double noise = Math.Max(Math.Max(3 * Combined(syncPlain.StdErrNs, syncWoven.StdErrNs), 0.05 * syncPlain.MedianNs), 0.5);
            goals.Judge("sync completion: no measurable difference", difference <= noise,
                $"{Signed(difference)} ns on {F(syncPlain.MedianNs, 2)} ns (measurable: beyond {F(noise, 2)} ns = max of 3 standard errors, 5% and 0.5 ns; " +
                $"the two plain runs were {F(s_plainSpread.GetValueOrDefault("SyncCompletion"), 2)} ns apart)");
            goals.Judge("sync completion: 0 extra bytes", syncWoven.BytesPerOp - syncPlain.BytesPerOp == 0,
                $"{ExtraBytes(syncWoven, syncPlain)} B");
        }

        JudgeAllocations(goals, modes, taskShaped: true, limit: 0, "0 B extra per suspended Task/Task<T> operation");
        JudgeAllocations(goals, modes, taskShaped: false, limit: 24, "<= 24 B extra per operation of other shapes");

        const string OneMillion = "1,000,000";
        if (sweep.Figures.TryGetValue($"background sweep, {OneMillion} tracked (ms)", out double background))
        {
            sweep.Figures.TryGetValue($"sweep, {OneMillion} tracked, best (ms)", out double best);
            goals.Judge("sweep <= 2 ms per 1M tracked operations", background <= 2,
                $"background sweep of 1M live operations {F(background, 2)} ms (on demand, best of 7: {F(best, 2)} ms)");
        }
        else
        {
            goals.Judge("sweep <= 2 ms per 1M tracked operations", null, "not measured");
        }

        string? thread = latency.Notes.FirstOrDefault(n => n.StartsWith("LeakDetected was raised on thread", StringComparison.Ordinal));
        goals.Judge("sweep off application threads", thread is null ? null : thread.Contains("'TaskLeak publisher'", StringComparison.Ordinal) || thread.Contains("'TaskLeak sweeper'", StringComparison.Ordinal),
            thread ?? "not measured");

        double[] warm = latency.Figures.Where(f => f.Key.EndsWith("max (ms)", StringComparison.Ordinal)).Select(f => f.Value).ToArray();
        double[] first = latency.Figures.Where(f => f.Key.EndsWith("first (ms)", StringComparison.Ordinal)).Select(f => f.Value).ToArray();
        goals.Judge("report <= 10 ms after the GC (steady state, worst trial)", warm.Length == 0 ? null : warm.Max() <= 10,
            warm.Length == 0 ? "not measured" : $"worst {F(warm.Max(), 2)} ms over induced and allocation-triggered GCs");
        goals.Judge("report <= 10 ms after the GC (first leak of a process)", first.Length == 0 ? null : first.Max() <= 10,
            first.Length == 0 ? "not measured" : $"worst {F(first.Max(), 2)} ms (includes JIT of the report path)");
        return goals;
    }

    private static void JudgeAllocations(Goals goals, Dictionary<BenchMode, Dictionary<string, BenchmarkFigure>> modes, bool taskShaped, long limit, string goal)
    {
        var evidence = new List<string>();
        bool met = true;
        foreach (Row row in s_rows.Where(r => r.TaskShaped == taskShaped && r.Name != "SyncCompletion"))
        {
            BenchmarkFigure? plain = Get(modes, BenchMode.Plain, row.Name);
            BenchmarkFigure? woven = Get(modes, BenchMode.Woven, row.Name);
            if (plain?.BytesPerOp is not { } p || woven?.BytesPerOp is not { } w)
            {
                goals.Judge(goal, null, $"{row.Name} not measured");
                return;
            }

            double perOperation = (double)(w - p) / row.Operations;
            met &= perOperation <= limit;
            evidence.Add($"{row.Name} {Signed(perOperation)}");
        }

        goals.Judge(goal, met, string.Join(", ", evidence) + " B/op");
    }

    private static BenchmarkFigure? Get(Dictionary<BenchMode, Dictionary<string, BenchmarkFigure>> modes, BenchMode mode, string name) =>
        modes.TryGetValue(mode, out var figures) && figures.TryGetValue(name, out BenchmarkFigure? figure) ? figure : null;

    private static string Ns(BenchmarkFigure? figure) => figure is null ? "—" : F(figure.MedianNs);

    private static string RatioTo(BenchmarkFigure? figure, BenchmarkFigure? baseline) =>
        figure is null || baseline is null ? "—" : Ratio(figure.MedianNs / baseline.MedianNs);

    private static string ExtraBytes(BenchmarkFigure? figure, BenchmarkFigure? baseline) =>
        figure?.BytesPerOp is { } f && baseline?.BytesPerOp is { } b ? Signed(f - b) : "—";

    private static string LoadAverage()
    {
        try
        {
            return System.IO.File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (System.IO.IOException)
        {
            return "?";
        }
        catch (UnauthorizedAccessException)
        {
            return "?";
        }
    }

    internal static bool IsOptimized(Assembly assembly) =>
        assembly.GetCustomAttribute<DebuggableAttribute>() is not { IsJITOptimizerDisabled: true };
}
