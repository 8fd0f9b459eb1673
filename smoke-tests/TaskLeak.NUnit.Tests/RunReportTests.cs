using System.IO;
using System.Linq;
using System.Text.Json;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace TaskLeak.NUnit.Tests;

/// <summary>[assembly: TaskLeakRunReport] on the samples: the end-of-run report, written before the run returned.</summary>
[NonParallelizable]
public class RunReportTests
{
    private static SampleRun Run => SampleRun.Instance;

    [Test]
    public void The_report_counts_the_checked_tests_and_their_leak_verdicts()
    {
        int failed = Run.Results.Values.Count(r => r.ResultState.Status == TestStatus.Failed);
        int warned = Run.Results.Values.Count(r => r.ResultState.Status == TestStatus.Warning);
        Assert.That(Run.Progress, Does.StartWith("TaskLeak run report for TaskLeak.NUnit.Samples: " + Run.Results.Count + " test(s) checked, "
            + failed + " failed for leaks, " + warned + " warned; "));
    }

    [Test]
    public void The_report_names_leaks_that_belong_to_no_test()
    {
        // BeforeTestAsync leaked in a OneTimeSetUp: no test failed for it, the run report still shows it.
        Assert.That(Run.Progress, Does.Contain("TaskLeak.NUnit.Samples.Operations.BeforeTestAsync"));
        Assert.That(Run.Results.Values.Select(r => r.Message ?? ""), Has.None.Contain("BeforeTestAsync"));
    }

    [Test]
    public void The_report_is_written_as_json_where_the_environment_says()
    {
        string file = Path.Combine(Run.ReportDirectory, "TaskLeak.NUnit.Samples.taskleak.json");
        Assert.That(Run.Progress, Does.Contain("TaskLeak run report written to " + file));
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(file));
        JsonElement root = json.RootElement;
        Assert.That(root.GetProperty("assembly").GetString(), Is.EqualTo("TaskLeak.NUnit.Samples"));
        Assert.That(root.GetProperty("testsChecked").GetInt32(), Is.EqualTo(Run.Results.Count));
        string report = root.GetProperty("report").GetRawText();
        Assert.That(report, Does.Contain("TaskLeak.NUnit.Samples.Operations.BeforeTestAsync"));
        Assert.That(report, Does.Contain("TaskLeak.NUnit.Samples.Operations.DirectAsync"));
    }
}
