namespace TaskLeak;

/// <summary>Which suspended operations get their creation stack captured at their first suspension.</summary>
public enum CreationStackMode
{
    /// <summary>No stacks: reports still name the method, the await line and the wait target.</summary>
    None = 0,

    /// <summary>
    /// The first few operations of each await site, then one in <see cref="TaskLeakOptions.CreationStackSampleRate"/>; a
    /// site whose leak was reported without a stack gets its first few again.
    /// </summary>
    Sampled = 1,

    /// <summary>Every operation: microseconds per suspension; for tests and debugging.</summary>
    All = 2,
}
