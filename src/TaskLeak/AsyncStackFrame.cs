namespace TaskLeak;

/// <summary>How a frame of a leak's logical async stack relates to the frame below it.</summary>
public enum AsyncStackFrameKind
{
    /// <summary>Proven: this operation was suspended awaiting the task of the operation below (<c>await Child()</c>).</summary>
    AwaitedBy = 0,

    /// <summary>
    /// Causal parent: this operation's MoveNext was running when the operation below first suspended. When the parent
    /// leaked too, its location is where it is stuck; otherwise it is the await the parent had resumed from.
    /// </summary>
    CalledBy = 1,

    /// <summary>The spawn call (<c>Task.Run</c>, <c>Task.Factory.StartNew</c>, ...) whose work contains the stack.</summary>
    StartedBy = 2,
}

/// <summary>One frame of a leak's logical async stack, above its root (the innermost stuck await).</summary>
public sealed class AsyncStackFrame
{
    internal AsyncStackFrame(AsyncStackFrameKind kind, string method, string location)
    {
        Kind = kind;
        Method = method;
        Location = location;
    }

    /// <summary>How this frame relates to the one below it.</summary>
    public AsyncStackFrameKind Kind { get; }

    /// <summary>The method as written in source, or the spawn API (<c>Task.Run</c>) for <see cref="AsyncStackFrameKind.StartedBy"/>.</summary>
    public string Method { get; }

    /// <summary><c>File.cs:line</c> (or the method and IL offset without symbols).</summary>
    public string Location { get; }

    /// <summary><c>awaited by Mid (File.cs:30)</c>, <c>called by Mid (File.cs:30)</c> or <c>started by Task.Run at Program.cs:8</c>.</summary>
    public override string ToString() => Kind switch
    {
        AsyncStackFrameKind.AwaitedBy => "awaited by " + Method + " (" + Location + ")",
        AsyncStackFrameKind.CalledBy => "called by " + Method + " (" + Location + ")",
        _ => "started by " + Method + " at " + Location,
    };
}
