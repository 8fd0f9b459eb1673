using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace TaskLeak.Benchmarks.Quick;

/// <summary>One benchmark's result in a worker process.</summary>
public sealed class BenchmarkFigure
{
    public string Name { get; set; } = "";

    /// <summary>Median time per operation, in nanoseconds (what the quick table shows: robust on a shared machine).</summary>
    public double MedianNs { get; set; }

    /// <summary>Mean time per operation, in nanoseconds.</summary>
    public double MeanNs { get; set; }

    /// <summary>Standard error of <see cref="MeanNs"/>.</summary>
    public double StdErrNs { get; set; }

    /// <summary>Bytes allocated per operation, when the memory diagnoser measured it.</summary>
    public long? BytesPerOp { get; set; }
}

/// <summary>What a worker process hands back to the quick runner (as a JSON file).</summary>
public sealed class WorkerReport
{
    public string Worker { get; set; } = "";
    public string Mode { get; set; } = "";
    public List<BenchmarkFigure> Benchmarks { get; set; } = new();

    /// <summary>Named measurements (milliseconds, counts, ...), each name saying its unit.</summary>
    public Dictionary<string, double> Figures { get; set; } = new();

    /// <summary>Text facts worth printing (the weaver's summary line, the sweeping thread's name, ...).</summary>
    public List<string> Notes { get; set; } = new();

    /// <summary>Checks the worker made that held (smoke mode prints them).</summary>
    public List<string> Passed { get; set; } = new();

    /// <summary>Checks the worker made that did not hold; a worker with failures does not count as measured.</summary>
    public List<string> Failures { get; set; } = new();

    private static readonly JsonSerializerOptions s_options = new() { WriteIndented = true };

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, s_options));

    public static WorkerReport Load(string path) => JsonSerializer.Deserialize<WorkerReport>(File.ReadAllText(path), s_options)!;
}
