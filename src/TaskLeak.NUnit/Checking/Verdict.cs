using NUnit.Framework;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace TaskLeak.NUnit.Checking;

/// <summary>Turns findings into the test's result.</summary>
internal static class Verdict
{
    /// <param name="action">Fail or warn.</param>
    /// <param name="message">The report.</param>
    /// <param name="afterTest">
    /// True when called after the test method returned: NUnit has already computed the result from the recorded
    /// assertions by then, so a warning must also be set on the result, as the test itself would have done.
    /// </param>
    internal static void Report(TaskLeakAction action, string message, bool afterTest)
    {
        switch (action)
        {
            case TaskLeakAction.Fail:
                Assert.Fail(message);
                break;
            case TaskLeakAction.Warn:
                Assert.Warn(message);
                TestResult result = TestExecutionContext.CurrentContext.CurrentResult;
                if (afterTest && result.ResultState.Status == TestStatus.Passed)
                {
                    result.SetResult(ResultState.Warning, message);
                }

                break;
        }
    }
}
