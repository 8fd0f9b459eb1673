using TaskLeak.Testing;
using Xunit;

namespace TaskLeak.Xunit;

/// <summary>Turns a check's verdict into the test's result.</summary>
internal static class Verdict
{
    internal static void Report(TaskLeakVerdict? verdict)
    {
        switch (verdict?.Action)
        {
            case TaskLeakAction.Fail:
                // xUnit shows Assert.Fail's message as it is: the same report NUnit and MSTest show.
                Assert.Fail(verdict.Message);
                break;
            case TaskLeakAction.Warn:
                TestContext.Current.AddWarning(verdict.Message);
                break;
        }
    }
}
