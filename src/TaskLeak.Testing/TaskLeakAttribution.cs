namespace TaskLeak;

/// <summary>Which operations a leak check holds the test responsible for.</summary>
public enum TaskLeakAttribution
{
    /// <summary>
    /// Operations the test started: directly, through awaits, or in work it spawned (its <see cref="TaskLeakScope"/>
    /// flows with the ExecutionContext). Safe with parallel tests: a sibling's operations are never counted.
    /// </summary>
    Test,

    /// <summary>
    /// Every operation in the process, as goleak does, for code that suppresses ExecutionContext flow. With
    /// <see cref="TaskLeakAssertOptions.IgnorePendingAtStart"/> what was already there when the test began is left
    /// out. Not for tests that run in parallel with others: their operations would be counted too.
    /// </summary>
    Process,
}
