using System.Threading;
using System.Threading.Tasks;

namespace LeakCorpus.Harness;

/// <summary>
/// One small program fragment with a known verdict. The harness calls <see cref="Start"/>, lets a detector look while
/// the fragment is suspended, then calls <see cref="Finish"/> and checks again.
/// </summary>
/// <remarks>
/// A scenario that leaks keeps no state in its instance (the harness holds it while detecting): <see cref="Start"/>
/// drops everything it created. Overrides are plain methods returning tasks, never <c>async</c>, so the woven corpus
/// tracks only the fragment's own async methods; <see cref="Start"/> is <c>NoInlining</c> (unoptimized code keeps
/// locals alive to the end of a method, so nothing the starter allocated may live in its caller's frame).
/// </remarks>
public abstract class Scenario
{
    /// <summary>The verdict and sites a detector must report.</summary>
    public abstract Expected Expected { get; }

    /// <summary>The scenario's name in tables and test names.</summary>
    public string Name => GetType().Name;

    /// <summary>
    /// Starts the fragment. The task completes once its operations are about to suspend (work started on the thread pool
    /// signals it); operations that suspend asynchronously may still be on their way, detectors allow for that.
    /// </summary>
    public abstract Task Start();

    /// <summary>
    /// Called after the detector looked at the suspended fragment: completes, cancels or faults what a non-leak left
    /// pending, or releases what a stalled scenario keeps stuck. The task completes when the fragment has finished.
    /// </summary>
    public virtual Task Finish() => Task.CompletedTask;

    /// <summary>A task that completes successfully when <paramref name="task"/> ends in any way (for fragments meant to fault or cancel).</summary>
    protected static Task Settled(Task task) =>
        task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
