using System;
using System.Threading;
using System.Threading.Tasks;

namespace TaskLeak.AspNetCore;

/// <summary>What a request for a forced detection got.</summary>
internal enum DetectionOutcome
{
    /// <summary>This request started the detection.</summary>
    Ran,

    /// <summary>A detection was already running; this request waited for it and shares its report.</summary>
    Shared,

    /// <summary>The last detection started less than the minimum interval ago: the report as it stands, nothing forced.</summary>
    RateLimited,
}

/// <summary>
/// At most one forced detection per interval, counted from the start of the last one; callers that arrive while one
/// runs share it. The detection runs on a thread of its own, so a request's thread only waits.
/// </summary>
internal sealed class DetectionGate
{
    private readonly object _lock = new();
    private readonly TaskLeakEndpointOptions _options;
    private Task<TaskLeakReport>? _running;
    private long _lastStart;
    private bool _started;
    private int _runs;
    private int _shared;

    internal DetectionGate(TaskLeakEndpointOptions options) => _options = options;

    /// <summary>Detections started so far.</summary>
    internal int Runs => Volatile.Read(ref _runs);

    /// <summary>Requests that joined a running detection so far.</summary>
    internal int Shared => Volatile.Read(ref _shared);

    internal (Task<TaskLeakReport> Report, DetectionOutcome Outcome, TimeSpan RetryAfter) Request()
    {
        lock (_lock)
        {
            if (_running is { IsCompleted: false })
            {
                _shared++;
                return (_running, DetectionOutcome.Shared, TimeSpan.Zero);
            }

            long now = _options.TimeProvider.GetTimestamp();
            TimeSpan since = _options.TimeProvider.GetElapsedTime(_lastStart, now);
            if (_started && since < _options.MinimumDetectionInterval)
            {
                return (Task.FromResult(TaskLeakDetector.GetReport()), DetectionOutcome.RateLimited, _options.MinimumDetectionInterval - since);
            }

            _started = true;
            _lastStart = now;
            _runs++;
            Func<TaskLeakReport> detect = _options.Detect;
            // A thread of its own: the collections it forces block, and the thread pool serves the requests.
            _running = Task.Factory.StartNew(detect, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return (_running, DetectionOutcome.Ran, TimeSpan.Zero);
        }
    }
}
