using System;
using System.Threading;
using TaskLeak.Detection;
using TaskLeak.Tracking;

namespace TaskLeak;

/// <summary>
/// Attributes operations to a unit of work (a test, a request): every operation that first suspends inside the
/// scope's async flow — directly, through awaits, or in work spawned from it — belongs to the scope. Scopes flow
/// with the ExecutionContext, so concurrent scopes (parallel tests) never see each other's operations.
/// </summary>
public sealed class TaskLeakScope : IDisposable
{
    private static int s_nextId;
    private readonly OperationOrigin? _previous;
    private int _disposed;

    private TaskLeakScope(string name)
    {
        Name = name;
        Id = Interlocked.Increment(ref s_nextId);
        _previous = OperationOrigin.EnterScope(Id);
    }

    /// <summary>The name given to <see cref="Begin"/>, used in reports.</summary>
    public string Name { get; }

    internal int Id { get; }

    /// <summary>Enters a new scope in the current async flow. Dispose it in the same flow to leave it.</summary>
    /// <param name="name">A name for reports, such as the test's full name.</param>
    public static TaskLeakScope Begin(string name) => new(name ?? throw new ArgumentNullException(nameof(name)));

    /// <summary>Leaks proven so far among operations that started inside this scope (no collection is forced).</summary>
    public TaskLeakReport GetLeaks() => Detector.Default.Ledger.SnapshotForScope(Id);

    /// <summary>Operations that started inside this scope and are suspended right now.</summary>
    public int PendingCount => Detector.Default.Registry.CountTracked(Id);

    /// <summary>Operations that started inside this scope and are suspended right now, grouped by await site.</summary>
    public TaskLeakSnapshot GetPending() => PendingOperations.Snapshot(Detector.Default.Registry, Detector.Default.Sites, Id);

    /// <summary>
    /// Forces <paramref name="collections"/> full blocking collections (waiting for pending finalizers between them),
    /// sweeps, and returns the leaks proven among operations that started inside this scope. With 0 it only sweeps,
    /// proving what earlier collections already reclaimed. Fewer collections can only prove fewer leaks, never a false one.
    /// </summary>
    /// <param name="collections">How many full collections to force; <see cref="TaskLeakDetector.DetectNow"/> forces 3.</param>
    public TaskLeakReport DetectNow(int collections)
    {
        if (collections < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(collections), collections, "The number of collections cannot be negative.");
        }

        for (int i = 0; i < collections; i++)
        {
            if (i > 0)
            {
                GC.WaitForPendingFinalizers();
            }

            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        }

        Detector.Default.SweepNow();
        return GetLeaks();
    }

    /// <summary>Leaves the scope: operations started afterwards in this flow no longer belong to it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            OperationOrigin.Restore(_previous);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
