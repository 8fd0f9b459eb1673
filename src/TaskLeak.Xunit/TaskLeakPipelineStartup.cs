using System;
using System.IO;
using System.Reflection;
using System.Text;
using System.Threading.Tasks;
using TaskLeak.Testing;
using Xunit.Sdk;
using Xunit.v3;

namespace TaskLeak.Xunit;

/// <summary>
/// Writes the end-of-run report once every test of the assembly has run, while the test process is still alive:
/// every leak proven in the process, including those that belong to no test, as xUnit diagnostic messages (shown with
/// <c>"diagnosticMessages": true</c> in xunit.runner.json), on standard error, and, when the
/// <c>TASKLEAK_TEST_REPORT</c> environment variable names a file or directory, as JSON there.
/// </summary>
/// <remarks>
/// Register it with <c>[assembly: TestPipelineStartup(typeof(TaskLeakPipelineStartup))]</c>. An assembly has one
/// pipeline startup: if yours exists, call <see cref="TaskLeakRunReport.Write"/> from its <c>StopAsync</c> instead.
/// </remarks>
public sealed class TaskLeakPipelineStartup : ITestPipelineStartup
{
    private IMessageSink? _diagnostics;

    /// <summary>Keeps the diagnostic message sink for the report.</summary>
    /// <param name="diagnosticMessageSink">xUnit's diagnostic messages.</param>
    /// <returns>A completed task.</returns>
    public ValueTask StartAsync(IMessageSink diagnosticMessageSink)
    {
        _diagnostics = diagnosticMessageSink;
        return default;
    }

    /// <summary>Writes the report, if this process ran tests (xUnit also starts the pipeline to discover them).</summary>
    /// <returns>A completed task.</returns>
    public ValueTask StopAsync()
    {
        if (TaskLeakRunReport.TestsChecked == 0)
        {
            return default;
        }

        try
        {
            var text = new StringWriter();
            string assembly = Assembly.GetEntryAssembly()?.GetName().Name ?? "tests";
            TaskLeakRunReport.Write(text, assembly);
            string report = text.ToString();
            Console.Error.Write(report);
            _diagnostics?.OnMessage(new DiagnosticMessage(report.TrimEnd('\n')));
        }
        catch (Exception error)
        {
            // A report must never turn a run's result: say what went wrong and go on.
            Console.Error.WriteLine("TaskLeak run report failed: " + error.Message);
        }

        return default;
    }
}
