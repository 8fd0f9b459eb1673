using System;
using System.Threading;
using TaskLeak.Configuration;

namespace TaskLeak.Tracking;

/// <summary>
/// Which operations are tracked and which get a creation stack. Read on the first suspension only. Countdowns live
/// in the thread's cache so that sampling writes no shared memory (no cache-line traffic between cores).
/// </summary>
internal static class TrackingPolicy
{
    private static volatile int s_sampleRate = Math.Max(1, RuntimeSettings.Startup.SampleRate);
    private static volatile int s_stackMode = (int)RuntimeSettings.Startup.CreationStacks;
    private static volatile int s_stacksPerSite = Math.Max(0, RuntimeSettings.Startup.CreationStacksPerSite);
    private static volatile int s_stackSampleRate = Math.Max(1, RuntimeSettings.Startup.CreationStackSampleRate);

    internal static int SampleRate => s_sampleRate;

    internal static void Apply(TaskLeakOptions options)
    {
        s_sampleRate = Math.Max(1, options.SampleRate);
        s_stackMode = (int)options.CreationStacks;
        s_stacksPerSite = Math.Max(0, options.CreationStacksPerSite);
        s_stackSampleRate = Math.Max(1, options.CreationStackSampleRate);
    }

    /// <summary>Production sampling: track one suspension in <c>SampleRate</c>, counted down per thread.</summary>
    internal static bool ShouldTrack(OperationRegistry.ThreadCache cache)
    {
        int rate = s_sampleRate;
        if (rate == 1)
        {
            return true;
        }

        if (--cache.SampleCountdown > 0)
        {
            return false;
        }

        cache.SampleCountdown = rate;
        return true;
    }

    /// <summary>
    /// <see cref="CreationStackMode.Sampled"/>: the first few operations of each site always (a racy per-site count:
    /// it stops being written once a site has its few), then one first suspension in N on each thread.
    /// </summary>
    internal static bool ShouldCaptureStack(int site, OperationRegistry.ThreadCache cache)
    {
        switch ((CreationStackMode)s_stackMode)
        {
            case CreationStackMode.All:
                return true;
            case CreationStackMode.Sampled:
                if (SiteRegistry.TakeInitialCapture(site, s_stacksPerSite))
                {
                    return true;
                }

                if (--cache.StackCountdown > 0)
                {
                    return false;
                }

                cache.StackCountdown = s_stackSampleRate;
                return true;
            default:
                return false;
        }
    }
}
