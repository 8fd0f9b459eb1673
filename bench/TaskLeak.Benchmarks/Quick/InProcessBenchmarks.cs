using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
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
}
