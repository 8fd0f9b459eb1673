namespace TaskLeak.NUnit;

/// <summary>What a leak check does with what it found.</summary>
public enum TaskLeakAction
{
    /// <summary>Fails the test; the report is the failure message.</summary>
    Fail,

    /// <summary>Gives the test NUnit's Warning result (shown as skipped by most runners); the report is the warning message.</summary>
    Warn,

    /// <summary>Checks nothing. On <see cref="DetectTaskLeaksAttribute"/> the test still gets its scope, for explicit <see cref="TaskLeakAssert"/> calls.</summary>
    None,
}
