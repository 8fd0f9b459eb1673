using System;
using System.Threading;

namespace TaskLeak.Tracking;

/// <summary>Which operations are tracked and which get a creation stack. Read on the first suspension only.</summary>
internal static class TrackingPolicy
{
    private static volatile int s_sampleRate = 1;
    private static volatile int s_stackMode = (int)CreationStackMode.Sampled;
    private static volatile int s_stacksPerSite = 8;
    private static volatile int s_stackSampleRate = 1024;

    [ThreadStatic] private static int t_sampleCounter;

    internal static void Apply(TaskLeakOptions options)
    {
        s_sampleRate = Math.Max(1, options.SampleRate);
        s_stackMode = (int)options.CreationStacks;
        s_stacksPerSite = Math.Max(0, options.CreationStacksPerSite);
        s_stackSampleRate = Math.Max(1, options.CreationStackSampleRate);
    }

    /// <summary>Production sampling: track one suspended operation in <c>SampleRate</c>, counted per thread.</summary>
    internal static bool ShouldTrack()
    {
        int rate = s_sampleRate;
        return rate == 1 || ++t_sampleCounter % rate == 0;
    }

    internal static bool ShouldCaptureStack(int site)
    {
        switch ((CreationStackMode)s_stackMode)
        {
            case CreationStackMode.All:
                return true;
            case CreationStackMode.Sampled:
                int ordinal = SiteRegistry.NextCaptureOrdinal(site);
                return ordinal < s_stacksPerSite || ordinal % s_stackSampleRate == 0;
            default:
                return false;
        }
    }
}
