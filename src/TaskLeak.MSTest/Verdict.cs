using Microsoft.VisualStudio.TestTools.UnitTesting;
using TaskLeak.Testing;

namespace TaskLeak.MSTest;

/// <summary>Turns a check's verdict into the test's result.</summary>
internal static class Verdict
{
    internal static void Report(TaskLeakVerdict? verdict, TestContext? context)
    {
        switch (verdict?.Action)
        {
            case TaskLeakAction.Fail:
                // Not Assert.Fail: its message would be prefixed; this one is the report, as in NUnit and xUnit.
                throw new AssertFailedException(verdict.Message);
            case TaskLeakAction.Warn:
                // MSTest has no warning outcome: the test passes and its output carries the report (MSTest captures
                // the console per test where no context is at hand).
                string warning = "Warning: " + verdict.Message;
                if (context is not null)
                {
                    context.WriteLine(warning);
                }
                else
                {
                    System.Console.Out.WriteLine(warning);
                }

                break;
        }
    }
}
