namespace TaskLeak;

/// <summary>What a test's leak check does with what it found.</summary>
public enum TaskLeakAction
{
    /// <summary>Fails the test; the report is the failure message.</summary>
    Fail,

    /// <summary>
    /// Warns and lets the test pass: NUnit's Warning result (shown as skipped by most runners), an xUnit warning, or,
    /// under MSTest, the report written to the test's output. The report is the warning message.
    /// </summary>
    Warn,

    /// <summary>Checks nothing. The test still gets its scope, for explicit <c>TaskLeakAssert</c> calls.</summary>
    None,
}
