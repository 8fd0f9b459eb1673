using System;

namespace TaskLeak.Detection;

/// <summary>
/// .NET has no public "a GC just ended" callback. An unreachable finalizable object is finalized after the GC that
/// found it dead; allocating a fresh one from the finalizer re-arms the notification for (almost) every GC.
/// </summary>
internal sealed class GcNotifier
{
    private readonly Action _callback;

    private GcNotifier(Action callback) => _callback = callback;

    internal static void Start(Action callback) => _ = new GcNotifier(callback);

    ~GcNotifier()
    {
        if (Environment.HasShutdownStarted)
        {
            return;
        }

        try
        {
            _callback();
        }
        catch (Exception)
        {
            // The finalizer thread must survive whatever the callback does.
        }

        _ = new GcNotifier(_callback);
    }
}
