using System;

namespace TaskLeak;

/// <summary>Settings of the TaskLeak runtime. Apply with <see cref="TaskLeakDetector.Configure(Action{TaskLeakOptions})"/>.</summary>
public sealed class TaskLeakOptions
{
    /// <summary>Whether the hooks track anything. When false, every hook is a single predictable branch.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Track one suspended operation in this many (1: all). Proven leaks stay proven; counts scale down.</summary>
    public int SampleRate { get; set; } = 1;

    /// <summary>Which operations get a creation stack.</summary>
    public CreationStackMode CreationStacks { get; set; } = CreationStackMode.Sampled;

    /// <summary>With <see cref="CreationStackMode.Sampled"/>: how many operations of each await site always get a stack.</summary>
    public int CreationStacksPerSite { get; set; } = 8;

    /// <summary>With <see cref="CreationStackMode.Sampled"/>: after the first few, one operation in this many gets a stack.</summary>
    public int CreationStackSampleRate { get; set; } = 1024;

    internal TaskLeakOptions Clone() => (TaskLeakOptions)MemberwiseClone();
}
