using System;
using System.Collections.Concurrent;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using TaskLeak.Testing;

namespace TaskLeak.MSTest;

/// <summary>
/// Per-test leak checks for MSTest, from two assembly-wide hooks in a <c>[TestClass]</c> of the test assembly:
/// <code>
/// [GlobalTestInitialize] public static void BeginLeakCheck(TestContext context) => TaskLeakTests.Begin(context);
/// [GlobalTestCleanup] public static void CheckLeaks(TestContext context) => TaskLeakTests.Check(context);
/// </code>
/// <see cref="Begin"/> enters a <see cref="TaskLeakScope"/> for the test (MSTest flows its ExecutionContext into the test
/// method); <see cref="Check"/> collects, sweeps and fails the test if operations it started were proven leaked.
/// </summary>
/// <remarks>
/// Attribution follows the ExecutionContext, not the clock, so tests running in parallel (method-level
/// <c>[assembly: Parallelize]</c>) never blame each other. Work started in <c>[AssemblyInitialize]</c>,
/// <c>[ClassInitialize]</c> or by other tests belongs to none of them; work started in <c>[TestInitialize]</c> belongs to
/// the test. <see cref="DetectTaskLeaksAttribute"/> refines the settings.
/// </remarks>
public static class TaskLeakTests
{
    private static readonly ConditionalWeakTable<TestContext, TaskLeakTestCheck> s_checks = new();
    private static readonly AsyncLocal<TaskLeakTestCheck?> s_current = new();
    private static readonly ConcurrentDictionary<string, Type?> s_types = new();

    /// <summary>The check of the test running in the calling flow, if <see cref="Begin"/> ran for it.</summary>
    internal static TaskLeakTestCheck? Current => s_current.Value;

    /// <summary>Enters the test's leak scope and applies the <see cref="DetectTaskLeaksAttribute"/>s covering it.</summary>
    /// <param name="context">The test's context, as <c>[GlobalTestInitialize]</c> receives it.</param>
    public static void Begin(TestContext context)
    {
        if (context is null)
        {
            throw new ArgumentNullException(nameof(context));
        }

        string className = context.FullyQualifiedTestClassName ?? "";
        string testName = context.TestName ?? "";
        Type? type = s_types.GetOrAdd(className, FindType);
        MethodInfo? method = FindMethod(type, testName);
        // Stack traces name the declaring type, nested types joined with '.'.
        string testMethod = ((method?.DeclaringType ?? type)?.FullName ?? className).Replace('+', '.') + "." + testName;

        var check = TaskLeakTestCheck.Begin(context.TestDisplayName ?? testName, testMethod);
        // Farthest first: the nearest attribute's settings are applied last and win.
        type?.Assembly.GetCustomAttribute<DetectTaskLeaksAttribute>()?.ApplyTo(check);
        type?.GetCustomAttribute<DetectTaskLeaksAttribute>(inherit: true)?.ApplyTo(check);
        method?.GetCustomAttribute<DetectTaskLeaksAttribute>(inherit: true)?.ApplyTo(check);
        check.RecordStartingPoint();
        s_checks.AddOrUpdate(context, check);
        s_current.Value = check;
    }

    /// <summary>
    /// Checks the test that ran and leaves its scope: fails it (an <see cref="AssertFailedException"/> whose message
    /// is the report) or, with <see cref="TaskLeakAction.Warn"/>, writes the report to the test's output.
    /// </summary>
    /// <param name="context">The test's context, as <c>[GlobalTestCleanup]</c> receives it.</param>
    public static void Check(TestContext context)
    {
        if (context is null)
        {
            throw new ArgumentNullException(nameof(context));
        }

        if (!s_checks.TryGetValue(context, out TaskLeakTestCheck? check))
        {
            return;
        }

        s_checks.Remove(context);
        s_current.Value = null;
        try
        {
            Verdict.Report(check.CheckAtEnd(), context);
        }
        finally
        {
            check.Dispose();
        }
    }

    /// <summary>
    /// Writes the end-of-run report while the test host is still alive: every leak proven in the process, including
    /// those that belong to no test, to the output and, when the <c>TASKLEAK_TEST_REPORT</c> environment variable
    /// names a file or directory, as JSON there. Call it from <c>[AssemblyCleanup]</c>.
    /// </summary>
    /// <param name="context">The assembly cleanup's context (its messages join the last test's output); null writes to the console.</param>
    /// <returns>The whole process's report.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)] // the calling assembly names the report
    public static TaskLeakReport ReportRun(TestContext? context = null)
    {
        var text = new StringWriter();
        string assembly = Assembly.GetCallingAssembly().GetName().Name ?? "tests";
        TaskLeakReport report = TaskLeakRunReport.Write(text, assembly);
        if (context is not null)
        {
            context.WriteLine(text.ToString());
        }
        else
        {
            Console.Out.Write(text.ToString());
        }

        return report;
    }

    private static Type? FindType(string fullName)
    {
        foreach (Assembly assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (!assembly.IsDynamic && assembly.GetType(fullName, throwOnError: false) is { } type)
            {
                return type;
            }
        }

        return null;
    }

    private static MethodInfo? FindMethod(Type? type, string name)
    {
        if (type is null)
        {
            return null;
        }

        foreach (MethodInfo method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
        {
            if (method.Name == name && method.IsDefined(typeof(TestMethodAttribute), inherit: true))
            {
                return method;
            }
        }

        return null;
    }
}
