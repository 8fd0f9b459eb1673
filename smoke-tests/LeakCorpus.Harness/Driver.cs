using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace LeakCorpus.Harness;

/// <summary>Steps shared by both detector passes. Each call is its own NoInlining frame, so the harness's frames never hold what a scenario allocated.</summary>
internal static class Driver
{
    internal static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Starts the scenario; null when its start task completed, else what went wrong.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static string? Start(Scenario scenario)
    {
        try
        {
            Task started = scenario.Start();
            if (!started.Wait(StepTimeout))
            {
                return "Start did not signal within " + StepTimeout.TotalSeconds + " s";
            }

            return null;
        }
        catch (Exception e)
        {
            return "Start threw " + e.GetBaseException().GetType().Name + ": " + e.GetBaseException().Message;
        }
    }

    /// <summary>Finishes the scenario; null when its finish task completed successfully, else what went wrong.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static string? Finish(Scenario scenario)
    {
        try
        {
            Task finished = scenario.Finish();
            if (!((IAsyncResult)finished).AsyncWaitHandle.WaitOne(StepTimeout))
            {
                return "Finish did not complete within " + StepTimeout.TotalSeconds + " s";
            }

            return finished.IsCompletedSuccessfully ? null
                : "Finish ended " + finished.Status + (finished.Exception is { } e ? ": " + e.GetBaseException().Message : "");
        }
        catch (Exception e)
        {
            return "Finish threw " + e.GetBaseException().GetType().Name + ": " + e.GetBaseException().Message;
        }
    }

    /// <summary>Full blocking collections with finalizers in between, as <c>TaskLeakDetector.DetectNow</c> forces them.</summary>
    internal static void Collect()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
    }

    /// <summary>Lets thread-pool continuations that are on their way run.</summary>
    internal static void Settle() => Thread.Sleep(20);
}
