using System;
using System.Linq;
using System.Threading.Tasks;
using Xunit;

namespace TaskLeak.Xunit.Samples;

/// <summary>An assembly fixture: created before the first test that uses it, in no test's scope.</summary>
public sealed class AssemblyWork
{
    public AssemblyWork() => Operations.Drop(Operations.PrecedingAsync);
}

/// <summary>A class fixture: created once for the class, before its first test, in no test's scope.</summary>
public sealed class ClassWork
{
    public ClassWork() => Operations.Drop(Operations.BeforeTestAsync);
}

/// <summary>Work started before the test (class and assembly fixtures) belongs to no test, even when proven during one.</summary>
public class WorkStartedBeforeTheTest(AssemblyWork assemblyWork, ClassWork classWork) : IClassFixture<ClassWork>
{
    [Fact]
    public void Fixture_leaks_are_not_blamed_on_the_test()
    {
        Assert.NotNull(assemblyWork);
        Assert.NotNull(classWork);
        TaskLeakReport report = TaskLeakDetector.DetectNow();
        Assert.Contains(report.Leaks, l => l.Method.EndsWith(".BeforeTestAsync", StringComparison.Ordinal));
        Assert.Contains(report.Leaks, l => l.Method.EndsWith(".PrecedingAsync", StringComparison.Ordinal));
    }

    [Fact]
    public void The_test_context_names_this_test() =>
        Assert.Equal(nameof(The_test_context_names_this_test), TestContext.Current.TestMethod?.MethodName);
}
