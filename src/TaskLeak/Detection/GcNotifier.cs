using System;

namespace TaskLeak.Detection;

/// <summary>
/// .NET has no public "a GC just ended" callback. An unreachable finalizable object is finalized after the GC that
/// found it dead; allocating a fresh one from the finalizer re-arms the notification for (almost) every GC, until the callback returns false.
/// </summary>
internal sealed class GcNotifier
{
    private readonly Func<bool> _callback;

    private GcNotifier(Func<bool> callback) => _callback = callback;

    internal static void Start(Func<bool> callback) => _ = new GcNotifier(callback);

    ~GcNotifier()
    {
        if (Environment.HasShutdownStarted)
        {
            return;
        }

        try
        {
            if (!_callback())
            {
                // The owner stopped: no new notifier, so the owner can be collected.
                return;
            }
        }
        catch (Exception)
        {
            // The finalizer thread must survive whatever the callback does.
        }

        _ = new GcNotifier(_callback);
    }
}
