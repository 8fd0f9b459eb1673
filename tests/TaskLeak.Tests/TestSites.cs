using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using NUnit.Framework;

[assembly: Parallelizable(ParallelScope.All)]
[assembly: FixtureLifeCycle(LifeCycle.InstancePerTestCase)]

namespace TaskLeak.Tests;

/// <summary>
/// Site tables registered the way a woven module registers its own, and helpers that play woven code's part against a
/// test's own <see cref="Detector"/> (each test has one, without background threads: nothing sweeps but the test).
/// </summary>
internal static class TestSites
{
    /// <summary>Registers <paramref name="count"/> await sites <c>Tests.{prefix}{i}.Run</c> at <c>{prefix}.cs:{i+1}</c>; returns the first id.</summary>
    internal static int Register(Detector detector, string prefix, int count, string target = "TaskCompletionSource<int>.Task") =>
        detector.RegisterModule(Table(prefix, count, target), count, () => "Tests");

    /// <summary>A version 1 table (header record, then the rows), as the weaver writes it.</summary>
    internal static string Table(string prefix, int count, string target = "TaskCompletionSource<int>.Task", bool header = true)
    {
        var table = new StringBuilder(header ? "TaskLeakSites:1" : "");
        for (int i = 0; i < count; i++)
        {
            if (i > 0 || header)
            {
                table.Append('\n');
            }

            table.Append("A\u001FTests.").Append(prefix).Append(i.ToString(CultureInfo.InvariantCulture)).Append(".Run\u001F/src/")
                .Append(prefix).Append(".cs\u001F").Append((i + 1).ToString(CultureInfo.InvariantCulture))
                .Append("\u001FIL_0010\u001F").Append(target).Append("\u001F\u001Fasync Task");
        }

        return table.ToString();
    }

    internal static string Method(string prefix, int row) => "Tests." + prefix + row.ToString(CultureInfo.InvariantCulture) + ".Run";

    internal static string Location(string prefix, int row) => prefix + ".cs:" + (row + 1).ToString(CultureInfo.InvariantCulture);

    /// <summary>A frame-strategy operation whose frame nobody references once this returns: a dropped completion source.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int DropFrame(Detector detector, int site, object? awaited = null)
    {
        int operation = 0;
        detector.Tracker.SuspendFrame(ref operation, site, awaited, new object());
        return operation;
    }

    /// <summary>A box-strategy operation (Suspend, then Attach of the box), whose box is returned for the caller to keep or drop.</summary>
    internal static object SuspendBox(Detector detector, int site, object? awaited, out int operation)
    {
        var box = new object();
        operation = 0;
        int first = detector.Tracker.Suspend(ref operation, site, awaited);
        detector.Tracker.Attach(first, box);
        return box;
    }
}

/// <summary>An awaited object that is nobody's proof (a completion source's task, say).</summary>
internal sealed class FakeSourceTask
{
}

/// <summary>A test's own detector: no background threads, default settings, disposed after the test.</summary>
public abstract class DetectorTest
{
    /// <summary>The test's detector.</summary>
    internal Detector D { get; } = new(new TaskLeakOptions());

    /// <summary>The hooks of <see cref="D"/>, as woven code calls them.</summary>
    internal Tracking.OperationTracker H => D.Tracker;

    [TearDown]
    public void DisposeDetector() => D.Dispose();
}
