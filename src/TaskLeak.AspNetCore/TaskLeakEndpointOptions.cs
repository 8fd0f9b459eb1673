using System;

namespace TaskLeak.AspNetCore;

/// <summary>Settings of the endpoints mapped by <see cref="TaskLeakEndpointRouteBuilderExtensions.MapTaskLeak"/>.</summary>
public sealed class TaskLeakEndpointOptions
{
    /// <summary>
    /// The least time between two forced detections (<c>/leaks?detect=true</c>): each one runs full blocking collections,
    /// so requests within this interval of the last one get the report as it stands, and requests arriving while one runs
    /// wait for that one. Default 10 seconds.
    /// </summary>
    public TimeSpan MinimumDetectionInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The age <c>/stalled</c> uses when the request gives no <c>minAge</c>. Default 1 minute.</summary>
    public TimeSpan DefaultStalledAge { get; set; } = TimeSpan.FromMinutes(1);

    // Tests replace the clock and the detection (a real one forces full collections and cannot be held open).
    internal TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal Func<TaskLeakReport> Detect { get; set; } = TaskLeakDetector.DetectNow;

    internal DetectionGate? Gate { get; set; }
}
