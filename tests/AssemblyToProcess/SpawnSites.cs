using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using TaskLeak;

namespace AssemblyToProcess;

/// <summary>
/// Every spawn API overload, each starting work that leaks: a dropped completion source, awaited either in the
/// spawned async lambda itself or in <see cref="AwaitDroppedAsync"/> called from a synchronous delegate.
/// Each spawn call sits on one line tagged <c>// spawn:Name</c> so the tests can find the line a report must name.
/// Starters are NoInlining so nothing they allocate stays on the test's stack.
/// </summary>
public static class SpawnSites
{
    public static async Task AwaitDroppedAsync() => await new TaskCompletionSource<int>().Task;

    public static async Task<int> AwaitSourceAsync(TaskCompletionSource<int> source) => await source.Task + 1;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RunAction() => _ = Task.Run(() => { _ = AwaitDroppedAsync(); }); // spawn:RunAction

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RunActionToken() => _ = Task.Run(() => { _ = AwaitDroppedAsync(); }, CancellationToken.None); // spawn:RunActionToken

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RunFunc() => _ = Task.Run(() => { _ = AwaitDroppedAsync(); return 1; }); // spawn:RunFunc

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RunFuncToken() => _ = Task.Run(() => { _ = AwaitDroppedAsync(); return 1; }, CancellationToken.None); // spawn:RunFuncToken

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RunFuncTask() => _ = Task.Run(async () => { await new TaskCompletionSource<int>().Task; }); // spawn:RunFuncTask

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RunFuncTaskToken() => _ = Task.Run(async () => { await new TaskCompletionSource<int>().Task; }, CancellationToken.None); // spawn:RunFuncTaskToken

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RunFuncTaskOfT() => _ = Task.Run(async () => await new TaskCompletionSource<int>().Task); // spawn:RunFuncTaskOfT

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RunFuncTaskOfTToken() => _ = Task.Run(async () => await new TaskCompletionSource<int>().Task, CancellationToken.None); // spawn:RunFuncTaskOfTToken

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FactoryAction() => _ = Task.Factory.StartNew(() => { _ = AwaitDroppedAsync(); }); // spawn:FactoryAction

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FactoryLongRunning() => _ = Task.Factory.StartNew(() => { _ = AwaitDroppedAsync(); }, TaskCreationOptions.LongRunning); // spawn:FactoryLongRunning

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FactoryActionState() => _ = Task.Factory.StartNew(_ => { _ = AwaitDroppedAsync(); }, "state"); // spawn:FactoryActionState

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FactoryActionTokenOptionsScheduler() => _ = Task.Factory.StartNew(() => { _ = AwaitDroppedAsync(); }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default); // spawn:FactoryActionTokenOptionsScheduler

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FactoryFunc() => _ = Task.Factory.StartNew(() => { _ = AwaitDroppedAsync(); return 1; }); // spawn:FactoryFunc

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FactoryFuncStateToken() => _ = Task.Factory.StartNew(_ => { _ = AwaitDroppedAsync(); return 1; }, "state", CancellationToken.None); // spawn:FactoryFuncStateToken

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FactoryFuncTask() => _ = Task.Factory.StartNew(async () => await new TaskCompletionSource<int>().Task); // spawn:FactoryFuncTask

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FactoryOfT() => _ = Task<int>.Factory.StartNew(() => { _ = AwaitDroppedAsync(); return 1; }); // spawn:FactoryOfT

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FactoryOfTStateLongRunning() => _ = Task<int>.Factory.StartNew(_ => { _ = AwaitDroppedAsync(); return 1; }, "state", TaskCreationOptions.LongRunning); // spawn:FactoryOfTStateLongRunning

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void TaskFactoryInstance() => _ = new TaskFactory(TaskScheduler.Default).StartNew(() => { _ = AwaitDroppedAsync(); }); // spawn:TaskFactoryInstance

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void TaskFactoryOfTInstance() => _ = new TaskFactory<int>().StartNew(() => { _ = AwaitDroppedAsync(); return 1; }); // spawn:TaskFactoryOfTInstance

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void NewTaskStart()
    {
        var task = new Task(() => { _ = AwaitDroppedAsync(); }); // spawn:NewTaskStart
        task.Start();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void NewTaskStateStart()
    {
        var task = new Task(_ => { _ = AwaitDroppedAsync(); }, "state"); // spawn:NewTaskStateStart
        task.Start();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void NewTaskTokenOptionsStart()
    {
        var task = new Task(() => { _ = AwaitDroppedAsync(); }, CancellationToken.None, TaskCreationOptions.LongRunning); // spawn:NewTaskTokenOptionsStart
        task.Start();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void NewTaskOfTStart()
    {
        var task = new Task<int>(() => { _ = AwaitDroppedAsync(); return 1; }); // spawn:NewTaskOfTStart
        task.Start(TaskScheduler.Default);
    }

    /// <summary>An async lambda passed to <c>new Task(Action)</c> is async void: a classic way to lose work.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void NewTaskAsyncVoidStart()
    {
        var task = new Task(async () => await new TaskCompletionSource<int>().Task); // spawn:NewTaskAsyncVoidStart
        task.Start();
    }

    /// <summary>Task.Run&lt;T&gt; instantiated with the caller's own type parameter.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RunGeneric<T>(T value) => _ = Task.Run(() => { _ = AwaitDroppedAsync(); return value; }); // spawn:RunGeneric

    /// <summary>The spawn call is in an async method's MoveNext, after its first await.</summary>
    public static async Task RunFromAsyncMethodAsync()
    {
        await Task.Yield();
        _ = Task.Run(async () => { await new TaskCompletionSource<int>().Task; }); // spawn:RunFromAsyncMethodAsync
    }

    /// <summary>Work spawned from spawned work records the innermost spawn site.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void NestedRun() => _ = Task.Run(() => // spawn:NestedOuter
    {
        _ = Task.Run(() => { _ = AwaitDroppedAsync(); }); // spawn:NestedInner
    });

    /// <summary>The spawn call throws (null delegate): the caller must not be left inside the spawn origin.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowingSpawnThenLeak()
    {
        try
        {
            _ = Task.Run((Action)null!);
        }
        catch (ArgumentNullException)
        {
        }

        _ = AwaitDroppedAsync();
    }

    /// <summary>After a spawn call returns, the caller's own operations have no spawn origin.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void SpawnThenLeak()
    {
        _ = Task.Run(() => { });
        _ = AwaitDroppedAsync();
    }

    /// <summary>[DoNotTrack] on the async method that spawns: its spawn site is not woven (the leak itself still is).</summary>
    [DoNotTrack]
    public static async Task OptedOutSpawnAsync()
    {
        await Task.Yield();
        _ = Task.Run(() => { _ = AwaitDroppedAsync(); });
    }

    public static Task<int> RunAwaiting(TaskCompletionSource<int> source) => Task.Run(async () => await source.Task);

    public static Task RunActionAwaiting(TaskCompletionSource<int> source) => Task.Run(() => { _ = AwaitSourceAsync(source); });

    public static Task<int> FactoryAwaiting(TaskCompletionSource<int> source) =>
        Task.Factory.StartNew(() => AwaitSourceAsync(source), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    public static Task<int> NewTaskAwaiting(TaskCompletionSource<int> source)
    {
        var task = new Task<Task<int>>(() => AwaitSourceAsync(source));
        task.Start();
        return task.Unwrap();
    }

    /// <summary>Awaits spawned work: the await site describes the spawn call as written.</summary>
    public static async Task<int> AwaitSpawnedAsync(TaskCompletionSource<int> source) => await Task.Run(() => AwaitSourceAsync(source));
}

/// <summary>TaskFactory&lt;T&gt; instantiated with a type parameter of the enclosing generic type.</summary>
public static class GenericSpawner<T>
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StartNew() => _ = Task<T>.Factory.StartNew(() => { _ = SpawnSites.AwaitDroppedAsync(); return default!; }); // spawn:GenericSpawner
}
