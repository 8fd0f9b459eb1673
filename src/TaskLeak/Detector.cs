using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using TaskLeak.Configuration;
using TaskLeak.Detection;
using TaskLeak.Diagnostics;
using TaskLeak.Tracking;

namespace TaskLeak;

/// <summary>
/// One TaskLeak runtime: a registry of suspended operations (Tracking), the proof sweep and the suspected tiers
/// (Detection), the ledger of proven leaks, and the sinks (Diagnostics), with their settings. Data flows one way:
/// hooks → registry → sweep → ledger → publisher → sinks; this type is the only one that knows them all, and the one
/// place where a finding flows back (re-arming a site's creation stacks after a stackless leak).
/// </summary>
/// <remarks>
/// Woven code reports to <see cref="Default"/> (through <see cref="CompilerServices.TaskLeakHooks"/>), which
/// <see cref="TaskLeakDetector"/> fronts. Tests and hosts create their own: a detector without background threads
/// sweeps only when asked, so nothing races the test that drives it.
/// </remarks>
internal sealed class Detector : IDisposable
{
    /// <summary>The process's detector: woven modules register with it and its background threads start at the first suspension.</summary>
    internal static readonly Detector Default = new(RuntimeSettings.Startup, background: true, isDefault: true);

    // Held while a sweep reads the registry and updates the tiers and the ledger; never while a sink runs.
    private readonly object _sweepLock = new();
    private readonly object _configureLock = new();
    private readonly object _startLock = new();
    private readonly bool _background;
    private readonly bool _isDefault;
    private readonly Func<ThreadStart, Thread> _threadFactory;
    private readonly StallReporter _stallReporter = new();
    private readonly StallHistory _stallHistory = new();
    private readonly AutoResetEvent _publishWake = new(false);
    private TaskLeakOptions _options;
    private int _started;
    private int _startFailures;
    private Thread? _publisherThread;
    private volatile bool _disposed;

    /// <param name="options">The settings (copied).</param>
    /// <param name="background">Start a sweeper thread (after collections) and a publisher thread at the first suspension.</param>
    /// <param name="threadFactory">Creates the background threads (tests pass one that fails).</param>
    /// <param name="isDefault">The process's own detector (only it uses the hooks' thread-static cache and the exit report).</param>
    internal Detector(TaskLeakOptions options, bool background = false, Func<ThreadStart, Thread>? threadFactory = null, bool isDefault = false)
    {
        _options = options.Clone();
        _background = background;
        _isDefault = isDefault;
        _threadFactory = threadFactory ?? (static start => new Thread(start));
        Sinks = new LeakSinks { StalledThresholdMilliseconds = () => (long)(CurrentOptions.StalledThreshold?.TotalMilliseconds ?? 0) };
        Publisher = new Publisher(Sinks);
        Sites = new SiteRegistry();
        Registry = new OperationRegistry(threadStatic: isDefault, refilling: background ? EnsureStarted : null);
        Policy = new TrackingPolicy(_options);
        // The clock's wake reads Sweeper when called, after this constructor has set it.
        Clock clock = background ? new Clock(() =>
        {
            EnsureStarted();
            Sweeper!.Wake();
        }) : new Clock(null);
        Sweeper = new Sweeper(clock, SweepInBackground, _ => Sinks.CountFailure());
        Tracker = new OperationTracker(Registry, Sites, Policy, clock, _options.Enabled);
        Ledger = new LeakLedger(Sites);
        Growth = new GrowthTracker(Sites);
        Periodic = new PeriodicDetection(() => CurrentOptions.DetectionInterval, () => DetectNow(), _ => Sinks.CountFailure());
        if (isDefault)
        {
            // The process's sinks exist as soon as the default detector does (a woven module's first hook), not at the
            // first suspension: a dormant process (tracking off) never suspends a tracked operation, and dotnet-taskleak
            // must still reach its EventSource to turn tracking on. Initialize never throws; its commands run on the
            // thread pool, so they wait for this constructor to finish.
            Sinks.Initialize();
            if (_options.ReportOnProcessExit)
            {
                ExitReport.Register();
            }
        }
    }

    internal OperationRegistry Registry { get; }
    internal SiteRegistry Sites { get; }
    internal TrackingPolicy Policy { get; }
    internal OperationTracker Tracker { get; }
    internal LeakLedger Ledger { get; }
    internal GrowthTracker Growth { get; }
    internal LeakSinks Sinks { get; }
    internal Publisher Publisher { get; }
    internal Sweeper Sweeper { get; }

    /// <summary>
    /// This detector's periodic detection (<see cref="TaskLeakOptions.DetectionInterval"/>). Its thread starts when an
    /// interval is in effect and the detector runs: with the background threads (a startup setting takes effect at the
    /// first suspension), or at once when <see cref="Configure"/> sets one (the caller asked for it, so a detector without
    /// background threads runs it too). <see cref="Configure"/> re-evaluates it; <see cref="Dispose"/> stops it.
    /// </summary>
    internal PeriodicDetection Periodic { get; }

    /// <summary>Deterministic test seam, called in DEBUG builds only: inside a sweep, between a tracked slot's state read and its proof read.</summary>
    internal Action<int>? BeforeProofRead;

    /// <summary>Whether the background threads are running.</summary>
    internal bool Started => Volatile.Read(ref _started) != 0;

    /// <summary>The settings in effect (not a copy: never change it).</summary>
    internal TaskLeakOptions CurrentOptions => Volatile.Read(ref _options);

    /// <summary>A copy of the settings in effect.</summary>
    public TaskLeakOptions Options => CurrentOptions.Clone();

    /// <summary>Raised by the publisher after sweeps prove new leaks.</summary>
    public event EventHandler<TaskLeakDetectedEventArgs>? LeakDetected
    {
        add
        {
            lock (_configureLock)
            {
                Sinks.LeakDetected += value;
            }
        }

        remove
        {
            lock (_configureLock)
            {
                Sinks.LeakDetected -= value;
            }
        }
    }

    public int SinkFailures => Sinks.Failures;

    public int InternalErrors => Tracker.InternalErrors;

    public int PendingCount => Registry.CountTracked();

    public void UseLoggerFactory(ILoggerFactory? loggerFactory) => Sinks.UseLoggerFactory(loggerFactory);

    public void Configure(Action<TaskLeakOptions> configure)
    {
        if (configure is null)
        {
            throw new ArgumentNullException(nameof(configure));
        }

        lock (_configureLock)
        {
            TaskLeakOptions options = CurrentOptions.Clone();
            configure(options);
            Policy.Apply(options);
            Tracker.Enabled = options.Enabled;
            Volatile.Write(ref _options, options);
            if (_isDefault && options.ReportOnProcessExit)
            {
                ExitReport.Register();
            }
        }

        // Outside the lock: starting a thread is not configuration state, and the thread reads CurrentOptions itself.
        if (!_disposed)
        {
            Periodic.Changed();
        }
    }

    /// <summary>Forces full blocking collections, waits for pending finalizers, sweeps, publishes, and returns every leak proven so far.</summary>
    public TaskLeakReport DetectNow()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        SweepNow();
        return Ledger.Snapshot();
    }

    public TaskLeakSnapshot Snapshot() => PendingStacks.Snapshot(Registry, Sites, 0);

    public TaskLeakSnapshot Snapshot(TimeSpan minimumAge) => PendingStacks.Snapshot(Registry, Sites, Math.Max(0, (long)minimumAge.TotalMilliseconds));

    public TaskLeakReport GetReport() => Ledger.Snapshot();

    public IReadOnlyList<StalledOperationGroup> GetStalled(TimeSpan olderThan)
    {
        lock (_sweepLock)
        {
            var check = new StallCheck(Clock.NowMilliseconds(), olderThan, _stallHistory, Sites);
            Registry.VisitLive((int index, int generation, int site, ref Slot slot) => check.Observe(index, ref slot, site, generation));
            return check.ToGroups();
        }
    }

    public IReadOnlyList<GrowingSite> GetGrowingSites() => Growth.Current;

    /// <summary>Forgets every leak proven so far and the suspected tiers' history. Operations still suspended stay tracked.</summary>
    public void Reset()
    {
        Ledger.Reset();
        lock (_sweepLock)
        {
            Growth.Reset();
            _stallReporter.Reset();
        }
    }

    /// <summary>
    /// A woven module's site table, from its static constructor. Never throws: a table this runtime cannot read
    /// turns tracking off for that module only (its site ids are negative) and is reported once.
    /// </summary>
    /// <param name="table">The table.</param>
    /// <param name="count">The rows the module declares.</param>
    /// <param name="module">Names the module for the report (called only when the table is refused).</param>
    internal int RegisterModule(string? table, int count, Func<string?> module)
    {
        string? error;
        int first;
        try
        {
            first = Tracker.RegisterSites(table, count, out error);
        }
        catch (Exception e)
        {
            first = SiteRegistry.DisabledBase;
            error = "reading the site table failed (" + e.GetType().Name + ": " + e.Message + ")";
        }

        if (error is not null)
        {
            string? name = null;
            try
            {
                name = module();
            }
            catch (Exception)
            {
                // The name is only for the message.
            }

            Sinks.ReportError("Tracking is off for module " + (name ?? "<unknown>") + ": " + error + ".");
        }

        return first;
    }

    /// <summary>Sweeps now, on the calling thread, and returns once the sinks saw what it and every earlier sweep proved.</summary>
    internal void SweepNow()
    {
        if (_background)
        {
            EnsureStarted();
        }

        Publisher.Flush(Sweep());
    }

    /// <summary>One sweep: proves, updates the tiers and the ledger, and enqueues the findings for publication (which it does not wait for).</summary>
    internal long Sweep()
    {
        var stackless = new List<int>();
        SweepResult result;
        lock (_sweepLock)
        {
            result = SweepLocked(stackless);
        }

        // The one flow back, decided here and not by the ledger: a site whose leak had no stack captures again.
        foreach (int site in stackless)
        {
            Policy.RearmCaptures(site);
        }

        return Publisher.Enqueue(result.Leaks, result.Stalled, result.Growing);
    }

    /// <summary>Starts the background threads (retried at every call until they run; the first failure is reported).</summary>
    internal void EnsureStarted()
    {
        if (Volatile.Read(ref _started) != 0 || !_background || _disposed)
        {
            return;
        }

        lock (_startLock)
        {
            if (_started != 0 || _disposed)
            {
                return;
            }

            try
            {
                Sinks.Initialize();
                if (_publisherThread is null)
                {
                    Thread publisher = _threadFactory(RunPublisher);
                    publisher.IsBackground = true;
                    publisher.Name = "TaskLeak publisher";
                    publisher.Start();
                    _publisherThread = publisher;
                }

                Thread sweeper = _threadFactory(RunSweeper);
                sweeper.IsBackground = true;
                sweeper.Name = "TaskLeak sweeper";
                sweeper.Start();
                GcNotifier.Start(Sweeper.OnCollection);
                Volatile.Write(ref _started, 1);
            }
            catch (Exception e)
            {
                if (_startFailures++ == 0)
                {
                    Sinks.ReportError("The background sweeper could not start (" + e.GetType().Name + ": " + e.Message +
                                      "); leaks are proven only by DetectNow until it does. Retried at the next registrations.");
                }
            }
        }

        if (Volatile.Read(ref _started) != 0)
        {
            // Right after the start (a racing caller may repeat it: Changed is idempotent): a startup interval (environment, AppContext) takes effect with the background threads.
            try
            {
                Periodic.Changed();
            }
            catch (Exception e)
            {
                Sinks.ReportError("Periodic detection could not start (" + e.GetType().Name + ": " + e.Message + "); leaks are proven after natural collections and by DetectNow.");
            }
        }
    }

    /// <summary>Failed attempts to start the background threads so far.</summary>
    internal int StartFailures
    {
        get
        {
            lock (_startLock)
            {
                return _startFailures;
            }
        }
    }

    /// <summary>Stops the background threads and frees the registry's handles (test detectors: nothing may use it afterwards).</summary>
    public void Dispose()
    {
        if (_isDefault)
        {
            return;
        }

        lock (_startLock)
        {
            _disposed = true;
        }

        Sweeper.Stop();
        Periodic.Stop();
        _publishWake.Set();
        if (Periodic.Thread is Thread periodic && periodic != Thread.CurrentThread)
        {
            // A detection it is running reads the registry: let it end before the handles are freed.
            periodic.Join(TimeSpan.FromSeconds(30));
        }

        if (!_background)
        {
            Registry.FreeHandles();
        }
    }

    private void SweepInBackground()
    {
        Sweep();
        if (Volatile.Read(ref _publisherThread) is not null)
        {
            _publishWake.Set();
        }
        else
        {
            Publisher.FlushAll();
        }
    }

    private SweepResult SweepLocked(List<int> stackless)
    {
        Debug.Assert(Monitor.IsEntered(_sweepLock), "a sweep holds its detector's sweep lock");
        long start = Stopwatch.GetTimestamp();
        TaskLeakOptions options = CurrentOptions;
        var proven = new List<ProvenOperation>();
        int[]? liveBySite = Growth.NewCounts(options.GrowingSiteSweeps);
        StallCheck? stall = options.StalledThreshold is TimeSpan threshold
            ? new StallCheck(Clock.NowMilliseconds(), threshold, _stallHistory, Sites)
            : null;
        ProofSweep.Run(Registry, proven, liveBySite, stall, BeforeProofRead);
        long pass = Stopwatch.GetTimestamp() - start;
        IReadOnlyList<TaskLeakGroup> leaks = proven.Count > 0 ? Ledger.Record(proven, stackless) : Array.Empty<TaskLeakGroup>();
        IReadOnlyList<GrowingSite> growing = liveBySite is not null
            ? Growth.Observe(liveBySite, options.GrowingSiteSweeps, Math.Max(1, options.GrowingSiteMinimumIncrease))
            : Array.Empty<GrowingSite>();
        IReadOnlyList<StalledOperationGroup> stalled = stall is not null ? _stallReporter.NewlyStalled(stall.ToGroups()) : Array.Empty<StalledOperationGroup>();
        Sweeper.RecordPass(pass, Stopwatch.GetTimestamp() - start);
        return new SweepResult(leaks, stalled, growing);
    }

    private void RunSweeper()
    {
        WarmUp();
        Sweeper.Run();
    }

    private void RunPublisher()
    {
        while (!_disposed)
        {
            _publishWake.WaitOne();
            try
            {
                Publisher.FlushAll();
            }
            catch (Exception)
            {
                Sinks.CountFailure();
            }
        }
    }

    /// <summary>
    /// Once, when the sweeper starts (at the first suspension): compiles the registry pass and the sinks, and runs what
    /// the first leak would otherwise compile on its way to them (formatting a stack taken inside an async method, type
    /// names, the site tables, the ledger's grouping and the report's text) on this thread and on made-up data, so that
    /// the first report, like every other, comes right after its GC.
    /// </summary>
    private void WarmUp()
    {
        try
        {
            Action<OperationRegistry, List<ProvenOperation>, int[]?, StallCheck?, Action<int>?> pass = ProofSweep.Run;
            Action<IReadOnlyList<TaskLeakGroup>> publish = Sinks.Publish;
            Action<TaskLeakGroup> meter = LeakMetrics.RecordLeaked;
            foreach (Delegate method in new Delegate[] { pass, publish, meter })
            {
                System.Runtime.CompilerServices.RuntimeHelpers.PrepareMethod(method.Method.MethodHandle);
            }

            // Real creation stacks are taken inside an async method's MoveNext, which StackTrace resolves by reflection.
            StackTrace stack = CaptureInsideAsyncMethod().Result;
            _ = Reporting.StackFormatter.Format(stack);
            _ = Reporting.TypeNames.Format(typeof(TaskCompletionSource<KeyValuePair<int, string>>));
            Sites.ParseAll();
            LeakLedger.Warm(stack);
        }
        catch (Exception)
        {
            Sinks.CountFailure();
        }
    }

#pragma warning disable CS1998 // Completes synchronously on purpose: only its frame matters.
    private static async Task<StackTrace> CaptureInsideAsyncMethod() => new StackTrace(0, false);
#pragma warning restore CS1998

    private readonly struct SweepResult
    {
        internal SweepResult(IReadOnlyList<TaskLeakGroup> leaks, IReadOnlyList<StalledOperationGroup> stalled, IReadOnlyList<GrowingSite> growing)
        {
            Leaks = leaks;
            Stalled = stalled;
            Growing = growing;
        }

        internal IReadOnlyList<TaskLeakGroup> Leaks { get; }
        internal IReadOnlyList<StalledOperationGroup> Stalled { get; }
        internal IReadOnlyList<GrowingSite> Growing { get; }
    }
}
