using System.Threading;
using TaskLeak.Detection;
using TaskLeak.Diagnostics;
using TaskLeak.Tracking;

namespace TaskLeak.Configuration;

/// <summary>
/// The settings in effect. <see cref="Startup"/> is read once, before any hook tracks anything (the tracker's fields
/// are initialised from it); <see cref="Apply"/> pushes later changes to every part that caches a setting.
/// </summary>
internal static class RuntimeSettings
{
    /// <summary>Environment, then AppContext, then defaults; read by the first type that needs a setting.</summary>
    internal static readonly TaskLeakOptions Startup = TaskLeakConfiguration.ReadFromProcess();

    private static TaskLeakOptions s_current = Startup.Clone();

    // The EventSource exists from the first hook on, even when tracking starts off, so that dotnet-taskleak can reach a
    // dormant process and turn tracking on. Its commands run on the thread pool, after this type is initialised.
    private static readonly bool s_listening = TaskLeakEventSource.Listen();

    internal static TaskLeakOptions Current => Volatile.Read(ref s_current);

    internal static void Apply(TaskLeakOptions options)
    {
        TrackingPolicy.Apply(options);
        OperationTracker.Enabled = options.Enabled;
        Volatile.Write(ref s_current, options);
        if (options.ReportOnProcessExit)
        {
            ExitReport.Register();
        }
    }
}
