extern alias plain;
extern alias woven;

using System;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using TaskLeak.Benchmarks.Modes;
using P = plain::TaskLeak.Benchmarks.Workloads;
using W = woven::TaskLeak.Benchmarks.Workloads;

namespace TaskLeak.Benchmarks;

/// <summary>
/// The workloads, each calling either the plain or the woven build (<see cref="ProcessMode.Woven"/> is folded by the
/// JIT, so each process runs one build only). The mode is per process; see <see cref="AsyncWorkloads"/> for the jobs.
/// </summary>
public abstract class WorkloadBenchmarks
{
    /// <summary>Operations per invocation of <see cref="ParallelAllCores"/>, split across all cores.</summary>
    public const int ParallelOperations = 4096;

    private readonly P.Resumer _plain = new();
    private readonly W.Resumer _woven = new();
    private P.Resumer[] _plainWorkers = Array.Empty<P.Resumer>();
    private W.Resumer[] _wovenWorkers = Array.Empty<W.Resumer>();
    private int _perWorker;

    [GlobalSetup]
    public void Setup()
    {
        ProcessMode.Activate();
        int workers = Environment.ProcessorCount;
        _perWorker = ParallelOperations / workers;
        if (_perWorker * workers != ParallelOperations)
        {
            throw new InvalidOperationException($"{ParallelOperations} operations do not split evenly across {workers} cores.");
        }

        _plainWorkers = new P.Resumer[workers];
        _wovenWorkers = new W.Resumer[workers];
        for (int i = 0; i < workers; i++)
        {
            _plainWorkers[i] = new P.Resumer();
            _wovenWorkers[i] = new W.Resumer();
        }
    }

    [Benchmark]
    public int SyncCompletion() => ProcessMode.Woven ? W.Workload.SyncCompletion() : P.Workload.SyncCompletion();

    [Benchmark]
    public int InlineSuspension() => ProcessMode.Woven ? W.Workload.InlineSuspension(_woven) : P.Workload.InlineSuspension(_plain);

    [Benchmark]
    public int TaskSourceSuspension() => ProcessMode.Woven ? W.Workload.TaskSourceSuspension() : P.Workload.TaskSourceSuspension();

    [Benchmark]
    public int ThreeAwaits() => ProcessMode.Woven ? W.Workload.ThreeAwaits(_woven) : P.Workload.ThreeAwaits(_plain);

    [Benchmark]
    public int TaskYield() => ProcessMode.Woven ? W.Workload.TaskYield() : P.Workload.TaskYield();

    [Benchmark]
    public int TaskRun() => ProcessMode.Woven ? W.Workload.TaskRun() : P.Workload.TaskRun();

    [Benchmark]
    public int Chain10() => ProcessMode.Woven ? W.Workload.Chain10(_woven) : P.Workload.Chain10(_plain);

    [Benchmark(OperationsPerInvoke = ParallelOperations)]
    public int ParallelAllCores() => ProcessMode.Woven
        ? W.Workload.ParallelInlineSuspensions(_wovenWorkers, _perWorker)
        : P.Workload.ParallelInlineSuspensions(_plainWorkers, _perWorker);

    [Benchmark]
    public int ValueTaskSuspension() => ProcessMode.Woven ? W.Workload.ValueTaskSuspension(_woven) : P.Workload.ValueTaskSuspension(_plain);

    [Benchmark]
    public int AsyncIterator() => ProcessMode.Woven ? W.Workload.AsyncIterator(_woven) : P.Workload.AsyncIterator(_plain);
}

/// <summary>
/// Full mode: every workload in four processes, one per <see cref="BenchMode"/>, with the plain build as the
/// baseline job, so the Ratio column is woven (or a peer) over plain, measured in the same run.
/// </summary>
[Config(typeof(ModeJobsConfig))]
public class AsyncWorkloads : WorkloadBenchmarks
{
}

/// <summary>The quick mode's copy of the workloads: no jobs of its own, the quick runner supplies an in-process job.</summary>
public class QuickAsyncWorkloads : WorkloadBenchmarks
{
}

/// <summary>One job per mode; the mode reaches the benchmark process through <see cref="ProcessMode.Variable"/>.</summary>
public sealed class ModeJobsConfig : ManualConfig
{
    public ModeJobsConfig()
    {
        foreach (BenchMode mode in Enum.GetValues<BenchMode>())
        {
            Job job = Job.Default
                .WithEnvironmentVariable(ProcessMode.Variable, mode.ToString())
                .WithId(mode.ToString());
            AddJob(mode == BenchMode.Plain ? job.AsBaseline() : job);
        }

        AddDiagnoser(MemoryDiagnoser.Default);
        WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));
    }
}
