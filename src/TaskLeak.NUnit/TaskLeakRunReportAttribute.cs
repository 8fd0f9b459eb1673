using System;
using System.IO;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using TaskLeak.Testing;

namespace TaskLeak.NUnit;

/// <summary>
/// Writes the end-of-run report once every test of the assembly has run, while the test host is still alive: every
/// leak proven in the process, including those that belong to no test, to NUnit's progress output and, when the
/// <c>TASKLEAK_TEST_REPORT</c> environment variable names a file or directory, as JSON there.
/// </summary>
/// <remarks>
/// Put it on the assembly: <c>[assembly: TaskLeakRunReport]</c>. Or, from a <c>[SetUpFixture]</c>'s
/// <c>[OneTimeTearDown]</c>, call <see cref="TaskLeakRunReport.Write"/> yourself.
/// </remarks>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class TaskLeakRunReportAttribute : Attribute, ITestAction
{
    /// <summary>The assembly's suite.</summary>
    public ActionTargets Targets => ActionTargets.Suite;

    /// <summary>Nothing to do before the run.</summary>
    /// <param name="test">The assembly's suite.</param>
    public void BeforeTest(ITest test)
    {
    }

    /// <summary>Writes the report after the assembly's last test and its fixtures' one-time teardowns.</summary>
    /// <param name="test">The assembly's suite.</param>
    public void AfterTest(ITest test)
    {
        if (test.TestType != "Assembly")
        {
            return; // only the assembly's own suite reports
        }

        try
        {
            TaskLeakRunReport.Write(TestContext.Progress, Path.GetFileNameWithoutExtension(test.Name));
        }
        catch (Exception error)
        {
            // A report must never turn a run's result: say what went wrong and go on.
            TestContext.Progress.WriteLine("TaskLeak run report failed: " + error.Message);
        }
    }
}
