using System;
using System.Collections.Generic;

namespace TaskLeak;

/// <summary>Leaks proven by one sweep, with the counts of that sweep only.</summary>
public sealed class TaskLeakDetectedEventArgs : EventArgs
{
    internal TaskLeakDetectedEventArgs(IReadOnlyList<TaskLeakGroup> leaks) => Leaks = leaks;

    /// <summary>The groups that grew in this sweep; <see cref="TaskLeakGroup.Count"/> is what this sweep added.</summary>
    public IReadOnlyList<TaskLeakGroup> Leaks { get; }
}
