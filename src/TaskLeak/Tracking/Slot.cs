using System;

namespace TaskLeak.Tracking;

/// <summary>
/// What the registry knows about one suspended operation beyond its state, proof and current site (those live in
/// <see cref="OperationRegistry.Chunk"/>'s arrays). Holds no task, box or awaited object. The first suspension writes
/// every field the owner owns, so a released slot is never cleared beyond its references.
/// </summary>
internal struct Slot
{
    /// <summary>The await site of the first suspension (where the creation stack was taken).</summary>
    public int FirstSite;

    /// <summary>Spawn site (Task.Run, StartNew, ...) the operation was started from, or 0.</summary>
    public int Origin;

    /// <summary>Leak scope (for example a test) active when the operation first suspended, or 0.</summary>
    public int Scope;

    /// <summary>Slot + 1 of the tracked operation this one awaits, or 0.</summary>
    public int Awaits;

    /// <summary>Generation of <see cref="Awaits"/> when the link was made.</summary>
    public int AwaitsGeneration;

    /// <summary>Slot + 1 of the tracked operation whose MoveNext was running when this one first suspended (its causal parent), or 0.</summary>
    public int Parent;

    /// <summary>Generation of <see cref="Parent"/> when it was recorded.</summary>
    public int ParentGeneration;

    /// <summary>The await site <see cref="Parent"/> had resumed from when it started this operation.</summary>
    public int ParentSite;

    /// <summary><see cref="OperationRegistry.ThreadCache.Id"/> of the thread that began the operation.</summary>
    public int Owner;

    /// <summary>
    /// Box strategy: the pending state of an operation that completed before its box was attached (see
    /// <see cref="OperationRegistry"/>). Never equal to a later generation's pending state; 0 is no pending state.
    /// </summary>
    public int EarlyState;

    /// <summary>
    /// While a MoveNext that entered this operation runs (<see cref="OperationTracker.EnterOperation"/>): one more than the
    /// thread's previous current operation, restored when it suspends again or completes; else 0.
    /// </summary>
    public int SavedContext;

    /// <summary>Later suspensions so far; written by the owner only. The stalled tier compares it across checks.</summary>
    public int Resumptions;

    /// <summary>Milliseconds timestamp of the first suspension (<see cref="Clock.CoarseMilliseconds"/>).</summary>
    public long SuspendedAt;

    /// <summary>The creation stack (a <see cref="System.Diagnostics.StackTrace"/>), when the policy captured one.</summary>
    public object? CreationStack;

    /// <summary>
    /// Runtime type of the awaited object at the current site, when it is a reference type. Held only while the operation
    /// is tracked (released at completion, or when a sweep proves it and the ledger records its name as a string).
    /// </summary>
    public Type? TargetType;
}

/// <summary>A slot claimed by the sweeper: its frame was collected while suspended. A copy, taken before the slot is reused.</summary>
internal readonly struct ProvenOperation
{
    internal ProvenOperation(int slot, int generation, int site, ref Slot source)
    {
        Slot = slot;
        Generation = generation;
        Site = site;
        FirstSite = source.FirstSite;
        Origin = source.Origin;
        Scope = source.Scope;
        Awaits = source.Awaits;
        AwaitsGeneration = source.AwaitsGeneration;
        Parent = source.Parent;
        ParentGeneration = source.ParentGeneration;
        ParentSite = source.ParentSite;
        SuspendedAt = source.SuspendedAt;
        CreationStack = source.CreationStack;
        TargetType = source.TargetType;
    }

    /// <summary>For tests and the ledger's own bookkeeping: an operation described field by field.</summary>
    internal ProvenOperation(int slot, int generation, int site, int awaits, int awaitsGeneration, int parent, int parentGeneration,
        int parentSite, Type? targetType, int origin = 0, object? creationStack = null)
    {
        Slot = slot;
        Generation = generation;
        Site = site;
        FirstSite = site;
        Awaits = awaits;
        AwaitsGeneration = awaitsGeneration;
        Parent = parent;
        ParentGeneration = parentGeneration;
        ParentSite = parentSite;
        TargetType = targetType;
        Origin = origin;
        Scope = 0;
        SuspendedAt = 0;
        CreationStack = creationStack;
    }

    public int Slot { get; }
    public int Generation { get; }
    public int Site { get; }
    public int FirstSite { get; }
    public int Origin { get; }
    public int Scope { get; }
    public int Awaits { get; }
    public int AwaitsGeneration { get; }
    public int Parent { get; }
    public int ParentGeneration { get; }
    public int ParentSite { get; }
    public long SuspendedAt { get; }
    public object? CreationStack { get; }
    public Type? TargetType { get; }

    /// <summary>Identity of this operation that survives slot reuse.</summary>
    public long Key => OperationKey(Slot, Generation);

    /// <summary>The key of the operation this one awaits, or -1.</summary>
    public long AwaitsKey => Awaits == 0 ? -1 : OperationKey(Awaits - 1, AwaitsGeneration);

    /// <summary>The key of this operation's causal parent, or -1.</summary>
    public long ParentKey => Parent == 0 ? -1 : OperationKey(Parent - 1, ParentGeneration);

    public static long OperationKey(int slot, int generation) => ((long)slot << 32) | (uint)generation;
}
