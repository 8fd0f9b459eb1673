using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using NUnit;
using NUnit.Framework.Api;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;
using TaskLeak.NUnit.Samples;

namespace TaskLeak.NUnit.Tests;

/// <summary>
/// One in-process run of TaskLeak.NUnit.Samples by NUnit's own framework runner (what NUnitLite and the adapter
/// drive), with four parallel workers: the per-test results, keyed <c>Fixture.Test</c>.
/// </summary>
internal sealed class SampleRun
{
    private const string Namespace = "TaskLeak.NUnit.Samples.";
    private static readonly Lazy<SampleRun> s_instance = new(Execute, System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);

    private SampleRun(Dictionary<string, ITestResult> results, string progress, string reportDirectory)
    {
        Results = results;
        Progress = progress;
        ReportDirectory = reportDirectory;
    }

    internal static SampleRun Instance => s_instance.Value;

    internal IReadOnlyDictionary<string, ITestResult> Results { get; }

    /// <summary>What the run wrote to NUnit's progress output (the end-of-run report).</summary>
    internal string Progress { get; }

    /// <summary>The directory TASKLEAK_TEST_REPORT named during the run.</summary>
    internal string ReportDirectory { get; }

    internal ITestResult this[string name] =>
        Results.TryGetValue(name, out ITestResult? result) ? result : throw new KeyNotFoundException("No sample test " + name);

    /// <summary>
    /// The 1-based number of the first line of a sample source file containing <paramref name="text"/>, or with
    /// <paramref name="thenFind"/> of the first line from there on containing that.
    /// </summary>
    internal static int LineOf(string file, string text, string? thenFind = null, [CallerFilePath] string here = "")
    {
        string path = Path.Combine(Path.GetDirectoryName(here)!, "..", "TaskLeak.NUnit.Samples", file);
        string[] lines = File.ReadAllLines(path);
        int start = Array.FindIndex(lines, line => line.Contains(text, StringComparison.Ordinal));
        int found = start < 0 || thenFind is null ? start : Array.FindIndex(lines, start, line => line.Contains(thenFind, StringComparison.Ordinal));
        return found >= 0 ? found + 1 : throw new InvalidOperationException(text + " not found in " + file);
    }

    private static SampleRun Execute()
    {
        string reports = Directory.CreateTempSubdirectory("taskleak-nunit-").FullName;
        Environment.SetEnvironmentVariable(TaskLeak.Testing.TaskLeakRunReport.JsonPathVariable, reports);
        var runner = new NUnitTestAssemblyRunner(new DefaultTestAssemblyBuilder());
        runner.Load(typeof(ParallelSiblings).Assembly, new Dictionary<string, object>
        {
            [FrameworkPackageSettings.NumberOfTestWorkers] = 4,
        });
        var listener = new Silent();
        ITestResult root = runner.Run(listener, TestFilter.Empty);
        Environment.SetEnvironmentVariable(TaskLeak.Testing.TaskLeakRunReport.JsonPathVariable, null);

        var results = new Dictionary<string, ITestResult>();
        Collect(root, results);
        return new SampleRun(results, listener.Progress, reports);
    }

    private static void Collect(ITestResult result, Dictionary<string, ITestResult> into)
    {
        if (!result.Test.IsSuite)
        {
            string name = result.FullName.StartsWith(Namespace, StringComparison.Ordinal) ? result.FullName.Substring(Namespace.Length) : result.FullName;
            into.Add(name, result);
            return;
        }

        foreach (ITestResult child in result.Children)
        {
            Collect(child, into);
        }
    }

    private sealed class Silent : ITestListener
    {
        private readonly System.Text.StringBuilder _progress = new();

        internal string Progress
        {
            get
            {
                lock (_progress)
                {
                    return _progress.ToString();
                }
            }
        }

        public void TestStarted(ITest test)
        {
        }

        public void TestFinished(ITestResult result)
        {
        }

        public void TestOutput(TestOutput output)
        {
            if (output.Stream == "Progress")
            {
                lock (_progress)
                {
                    _progress.Append(output.Text);
                }
            }
        }

        public void SendMessage(TestMessage message)
        {
        }
    }
}
