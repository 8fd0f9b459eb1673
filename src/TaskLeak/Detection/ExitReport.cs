using System;
using System.Threading;

namespace TaskLeak.Detection;

/// <summary>
/// <see cref="TaskLeakOptions.ReportOnProcessExit"/>: one last detection when the process exits. Finalizers do not run
/// at exit in .NET, so it collects, waits for pending finalizers and collects again, as <see cref="TaskLeakDetector.DetectNow"/>.
/// </summary>
internal static class ExitReport
{
    private static int s_registered;

    internal static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += static (_, _) => Run();
        }
    }

    private static void Run()
    {
        try
        {
            if (!Detector.Default.CurrentOptions.ReportOnProcessExit)
            {
                return;
            }

            TaskLeakReport report = Detector.Default.DetectNow();
            if (!report.IsEmpty)
            {
                Console.Error.WriteLine(report.ToString());
            }
        }
        catch (Exception)
        {
            Detector.Default.Sinks.CountFailure();
        }
    }
}
