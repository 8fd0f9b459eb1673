using System;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace AssemblyToProcess;

/// <summary>A task-like type with its own builder. The builder is a class, so the compiler loads it with ldfld.</summary>
[AsyncMethodBuilder(typeof(CustomTaskMethodBuilder<>))]
public readonly struct CustomTask<T>
{
    private readonly TaskCompletionSource<T> _source;

    internal CustomTask(TaskCompletionSource<T> source) => _source = source;

    public TaskAwaiter<T> GetAwaiter() => _source.Task.GetAwaiter();

    public Task<T> AsTask() => _source.Task;
}

/// <summary>Boxes the state machine itself on its first suspension, as hand-written builders do.</summary>
public sealed class CustomTaskMethodBuilder<T>
{
    private readonly TaskCompletionSource<T> _source = new();
    private IAsyncStateMachine? _box;

    public static CustomTaskMethodBuilder<T> Create() => new();

    public CustomTask<T> Task => new(_source);

    public void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine => stateMachine.MoveNext();

    public void SetStateMachine(IAsyncStateMachine stateMachine) => _box = stateMachine;

    public void SetResult(T result) => _source.SetResult(result);

    public void SetException(Exception exception)
    {
        if (exception is OperationCanceledException canceled)
        {
            _source.SetCanceled(canceled.CancellationToken);
        }
        else
        {
            _source.SetException(exception);
        }
    }

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine
    {
        _box ??= stateMachine;
        awaiter.OnCompleted(_box.MoveNext);
    }

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine
    {
        _box ??= stateMachine;
        awaiter.UnsafeOnCompleted(_box.MoveNext);
    }
}
