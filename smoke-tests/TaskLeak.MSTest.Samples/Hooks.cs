using Microsoft.VisualStudio.TestTools.UnitTesting;
using TaskLeak.MSTest;

// Method-level parallelism: ParallelSiblings needs its three tests running at once; leave room for others besides.
[assembly: Parallelize(Workers = 4, Scope = ExecutionScope.MethodLevel)]

namespace TaskLeak.MSTest.Samples;

/// <summary>The two lines that check every test, and the end-of-run report.</summary>
[TestClass]
public static class Hooks
{
    [GlobalTestInitialize]
    public static void BeginLeakCheck(TestContext context) => TaskLeakTests.Begin(context);

    [GlobalTestCleanup]
    public static void CheckLeaks(TestContext context) => TaskLeakTests.Check(context);

    /// <summary>Work started before any test: it belongs to no test.</summary>
    [AssemblyInitialize]
    public static void StartWork(TestContext context) => Operations.Drop(Operations.PrecedingAsync);

    [AssemblyCleanup]
    public static void ReportLeaks(TestContext context) => TaskLeakTests.ReportRun(context);
}
