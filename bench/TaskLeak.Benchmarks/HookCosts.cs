using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;
using BenchmarkDotNet.Attributes;
using TaskLeak.CompilerServices;
using TaskLeak.Detection;
using TaskLeak.Tracking;

namespace TaskLeak.Benchmarks;

/// <summary>
/// Where a woven suspension's time goes: each hook woven code calls, and the pieces of the first suspension
/// (<see cref="OperationTracker.Begin"/>), measured on their own against the runtime's internals.
/// </summary>
/// <remarks>
/// The registry is process-wide state, so this class runs in its own process. The first suspensions of a site always
/// capture a creation stack; setup runs past them, so the figures are the steady state (one stack in
/// <see cref="TaskLeakOptions.CreationStackSampleRate"/>, which <see cref="StackSampling"/> amortizes).
/// </remarks>
[MemoryDiagnoser]
public class HookCosts
{
    private const string Row = "A\u001FHookCosts.MeasuredAsync\u001F\u001F0\u001FIL_0000\u001Fobject\u001F\u001Fasync Task";

    private static readonly object s_awaited = new();
    private static readonly object s_box = new();
    private static readonly AsyncLocal<object?> s_local = new();

    private int _site;
    private int _tracked;
    private GCHandle _read;
    private GCHandle _retarget;

    [GlobalSetup]
    public void Setup()
    {
        _site = TaskLeakHooks.RegisterSites(Row, 1);
        for (int i = 0; i < 64; i++)
        {
            FirstSuspension();
        }

        int operation = 0;
        int first = TaskLeakHooks.Suspend(ref operation, _site, null);
        TaskLeakHooks.Attach(first, s_box);
        _tracked = operation;
        _read = GCHandle.Alloc(s_box, GCHandleType.WeakTrackResurrection);
        _retarget = GCHandle.Alloc(null, GCHandleType.WeakTrackResurrection);
        s_local.Value = s_box;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        TaskLeakHooks.Complete(ref _tracked);
        _read.Free();
        _retarget.Free();
    }

    /// <summary>Suspend + Attach + Complete: the hooks of one suspended Task operation (box proof).</summary>
    [Benchmark]
    public int FirstSuspension()
    {
        int operation = 0;
        int first = TaskLeakHooks.Suspend(ref operation, _site, s_awaited);
        TaskLeakHooks.Attach(first, s_box);
        TaskLeakHooks.Complete(ref operation);
        return first;
    }

    /// <summary>The same with a struct awaiter (no awaited object: no type read, no awaited-link scan).</summary>
    [Benchmark]
    public int FirstSuspensionNoTarget()
    {
        int operation = 0;
        int first = TaskLeakHooks.Suspend(ref operation, _site, null);
        TaskLeakHooks.Attach(first, s_box);
        TaskLeakHooks.Complete(ref operation);
        return first;
    }

    /// <summary>SuspendFrame + Complete: class state machines of other builders.</summary>
    [Benchmark]
    public int FirstSuspensionFrame()
    {
        int operation = 0;
        TaskLeakHooks.SuspendFrame(ref operation, _site, s_awaited, s_box);
        int first = operation;
        TaskLeakHooks.Complete(ref operation);
        return first;
    }

    /// <summary>SuspendWithToken + Complete: struct state machines of other builders (allocates the token).</summary>
    [Benchmark]
    public int FirstSuspensionToken()
    {
        int operation = 0;
        object? token = null;
        TaskLeakHooks.SuspendWithToken(ref operation, ref token, _site, s_awaited);
        int first = operation;
        TaskLeakHooks.Complete(ref operation);
        return first;
    }

    /// <summary>A later suspension of a tracked operation, on an object.</summary>
    [Benchmark]
    public int Resuspend() => TaskLeakHooks.Suspend(ref _tracked, _site, s_awaited);

    /// <summary>A later suspension of a tracked operation, on a struct awaiter.</summary>
    [Benchmark]
    public int ResuspendNoTarget() => TaskLeakHooks.Suspend(ref _tracked, _site, null);

    /// <summary>Complete on an operation that never suspended (every synchronous completion pays this).</summary>
    [Benchmark]
    public int CompleteUntracked()
    {
        int operation = 0;
        TaskLeakHooks.Complete(ref operation);
        return operation;
    }

    /// <summary>A resumption of a tracked operation and its next suspension: EnterOperation, then the restoring Suspend.</summary>
    [Benchmark]
    public int EnterOperationThenResuspend()
    {
        TaskLeakHooks.EnterOperation(_tracked);
        return TaskLeakHooks.Suspend(ref _tracked, _site, null);
    }

    /// <summary>Begin's slot work: Rent from the thread cache, set the proof, publish, Release (store, recycle).</summary>
    [Benchmark]
    public int RentPublishRelease()
    {
        OperationRegistry registry = Detector.Default.Registry;
        int index = registry.Rent(registry.Cache);
        OperationRegistry.Chunk chunk = registry.ChunkOf(index);
        int i = index & OperationRegistry.ChunkMask;
        chunk.Proofs[i].Target = s_box;
        OperationRegistry.Publish(chunk, i, OperationRegistry.Tracked);
        registry.Release(index);
        return index;
    }

    [Benchmark]
    public bool ShouldTrack() => Detector.Default.Policy.ShouldTrack(Detector.Default.Registry.Cache);

    /// <summary>Begin's stack policy at steady state: the per-site counter, and one capture in the sample rate.</summary>
    [Benchmark]
    public object? StackSampling() => Detector.Default.Policy.ShouldCaptureStack(_site, Detector.Default.Registry.Cache) ? new StackTrace(0, true) : null;

    /// <summary>One creation-stack capture with file and line (what a sampled operation pays).</summary>
    [Benchmark]
    public StackTrace StackCapture() => new(0, true);

    [Benchmark]
    public long Clock() => Tracking.Clock.NowMilliseconds();

    /// <summary>The origin/scope read (an AsyncLocal read once any spawn site or scope was entered).</summary>
    [Benchmark]
    public int OriginRead()
    {
        OperationOrigin.Current(out int spawnSite, out int scope);
        return spawnSite + scope;
    }

    [Benchmark]
    public object? AsyncLocalRead() => s_local.Value;

    /// <summary>One long weak handle read (the awaited-link check does one when the newest operation is tracked).</summary>
    [Benchmark]
    public object? HandleRead() => _read.Target;

    /// <summary>Proof re-target: Begin (or Attach) sets the slot's handle; nothing clears it.</summary>
    [Benchmark]
    public int HandleRetarget()
    {
        _retarget.Target = s_box;
        return 0;
    }

    [Benchmark]
    public int SweeperEnsureStarted()
    {
        Detector.Default.EnsureStarted();
        return 0;
    }

    [Benchmark]
    public System.Type AwaitedGetType() => s_awaited.GetType();
}
