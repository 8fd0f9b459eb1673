using System;
using System.Threading;

namespace TaskLeak.Tracking;

/// <summary>
/// Which operations are tracked and which get a creation stack. Read on the first suspension only. Countdowns live
/// in the thread's cache so that sampling writes no shared memory (no cache-line traffic between cores).
/// </summary>
internal sealed class TrackingPolicy
{
    /// <summary>How many times a site's first captures are granted again after stackless leaks.</summary>
    internal const int MaxRearms = 3;

    private volatile int _sampleRate;
    private volatile int _stackMode;
    private volatile int _stacksPerSite;
    private volatile int _stackSampleRate;
    private readonly object _growLock = new();
    private int[] _captures = new int[64];
    private byte[] _rearms = new byte[64];

    internal TrackingPolicy(TaskLeakOptions options) => Apply(options);

    internal int SampleRate => _sampleRate;

    internal void Apply(TaskLeakOptions options)
    {
        _sampleRate = Math.Max(1, options.SampleRate);
        _stackMode = (int)options.CreationStacks;
        _stacksPerSite = Math.Max(0, options.CreationStacksPerSite);
        _stackSampleRate = Math.Max(1, options.CreationStackSampleRate);
    }

    /// <summary>Production sampling: track one suspension in <c>SampleRate</c>, counted down per thread.</summary>
    internal bool ShouldTrack(OperationRegistry.ThreadCache cache)
    {
        int rate = _sampleRate;
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
    internal bool ShouldCaptureStack(int site, OperationRegistry.ThreadCache cache)
    {
        switch ((CreationStackMode)_stackMode)
        {
            case CreationStackMode.All:
                return true;
            case CreationStackMode.Sampled:
                if (TakeInitialCapture(site, _stacksPerSite))
                {
                    return true;
                }

                if (--cache.StackCountdown > 0)
                {
                    return false;
                }

                cache.StackCountdown = _stackSampleRate;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Sites up to <paramref name="idLimit"/> exist now: their per-site counts get room (under the caller's registration).</summary>
    internal void SitesRegistered(int idLimit)
    {
        lock (_growLock)
        {
            if (idLimit <= _captures.Length)
            {
                return;
            }

            var captures = new int[Math.Max(_captures.Length * 2, idLimit)];
            Array.Copy(_captures, captures, _captures.Length);
            var rearms = new byte[captures.Length];
            Array.Copy(_rearms, rearms, _rearms.Length);
            Volatile.Write(ref _rearms, rearms);
            Volatile.Write(ref _captures, captures);
        }
    }

    /// <summary>
    /// A leak of an operation first suspended at <paramref name="site"/> was reported without a creation stack: the
    /// site's next few operations get one again (at most <see cref="MaxRearms"/> times per site), so that a leak that
    /// repeats is reported with its stack. Racy like the count itself.
    /// </summary>
    internal void RearmCaptures(int site)
    {
        int[] captures = Volatile.Read(ref _captures);
        byte[] rearms = Volatile.Read(ref _rearms);
        if (site > 0 && (uint)site < (uint)captures.Length && (uint)site < (uint)rearms.Length && rearms[site] < MaxRearms)
        {
            rearms[site]++;
            captures[site] = 0;
        }
    }

    /// <summary>One of a site's first <paramref name="perSite"/> stacks; racy on purpose (sampling tolerates lost counts).</summary>
    private bool TakeInitialCapture(int site, int perSite)
    {
        int[] captures = Volatile.Read(ref _captures);
        if ((uint)site < (uint)captures.Length && captures[site] < perSite)
        {
            captures[site]++;
            return true;
        }

        return false;
    }
}
