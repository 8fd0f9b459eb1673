using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using BenchmarkDotNet.Validators;
using Perfolizer.Horology;

namespace TaskLeak.Benchmarks.Quick;

/// <summary>
/// Runs one benchmark class with BenchmarkDotNet inside this (worker) process: pilot, overhead, warmup and measured
/// iterations as usual, but short, and without generating and building a project per run.
/// </summary>
internal static class InProcessBenchmarks
{
    internal static List<BenchmarkFigure> Run(Type benchmarks, TimeSpan iterationTime, int warmups, int iterations, IList<string> failures,
        IReadOnlyCollection<string>? only = null)
    {
        Job job = Job.Default
            .WithToolchain(InProcessEmitToolchain.DontLogOutput)
            .WithLaunchCount(1)
            .WithWarmupCount(warmups)
            .WithIterationCount(iterations)
            .WithIterationTime(TimeInterval.FromMilliseconds(iterationTime.TotalMilliseconds))
            .WithId("quick");
        ManualConfig config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(NullLogger.Instance)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "TaskLeak.Benchmarks.Artifacts"))
            .WithOptions(ConfigOptions.DisableLogFile);

        if (Environment.GetEnvironmentVariable("TASKLEAK_BENCH_NOPREWARM") != "1")
        {
            Prewarm(benchmarks, only);
        }

        if (only is not null)
        {
            config = config.AddFilter(new NameFilter(name => only.Contains(name)));
        }

        Summary summary = BenchmarkRunner.Run(benchmarks, config);
        var figures = new List<BenchmarkFigure>();
        foreach (BenchmarkReport report in summary.Reports)
        {
            string name = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
            if (report.ResultStatistics is not { } statistics)
            {
                failures.Add($"{benchmarks.Name}.{name} produced no result (it threw, or BenchmarkDotNet rejected it).");
                continue;
            }

            figures.Add(new BenchmarkFigure
            {
                Name = name,
                MedianNs = statistics.Median,
                MeanNs = statistics.Mean,
                StdErrNs = statistics.StandardError,
                BytesPerOp = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase),
            });
        }

        foreach (ValidationError error in summary.ValidationErrors.Where(e => e.IsCritical))
        {
            failures.Add($"{benchmarks.Name}: {error.Message}");
        }

        return figures;
    }

    /// <summary>
    /// Runs every benchmark for a while, then waits for the JIT: code that is not precompiled (the TaskLeak runtime,
    /// the workloads) starts at tier 0 and is promoted in the background only after a quiet period, which BDN's short
    /// in-process warmup does not always leave. Without this the first benchmark to reach a new method is measured
    /// half at tier 0 (seen as 3-6x outliers on the first woven suspension benchmark).
    /// TASKLEAK_BENCH_NOPREWARM=1 skips it, to see that effect.
    /// </summary>
    private static readonly MethodInfo s_spin = typeof(InProcessBenchmarks).GetMethod(nameof(Spin), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static void Spin<T>(Func<T> benchmark, long until)
    {
        while (Stopwatch.GetTimestamp() < until)
        {
            for (int i = 0; i < 64; i++)
            {
                benchmark();
            }
        }
    }

    private static void Prewarm(Type benchmarks, IReadOnlyCollection<string>? only)
    {
        object instance = Activator.CreateInstance(benchmarks)!;
        foreach (MethodInfo setup in benchmarks.GetMethods().Where(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null))
        {
            setup.Invoke(instance, null);
        }

        MethodInfo[] methods = benchmarks.GetMethods()
            .Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null && (only is null || only.Contains(m.Name)))
            .ToArray();
        for (int round = 0; round < 2; round++)
        {
            foreach (MethodInfo method in methods)
            {
                long until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 20);
                Delegate run = method.CreateDelegate(typeof(Func<>).MakeGenericType(method.ReturnType), instance);
                s_spin.MakeGenericMethod(method.ReturnType).Invoke(null, new object[] { run, until });
            }

            Thread.Sleep(250);
        }

        foreach (MethodInfo cleanup in benchmarks.GetMethods().Where(m => m.GetCustomAttribute<GlobalCleanupAttribute>() is not null))
        {
            cleanup.Invoke(instance, null);
        }
    }
}
