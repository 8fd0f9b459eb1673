using System;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace AssemblyToProcess;

/// <summary>
/// A state machine written by hand (as some source generators and decompiled code do): marked like a compiler's,
/// but shaped differently. The weaver must warn, leave it untouched, and the method must still work.
/// </summary>
public static class HandWritten
{
    [AsyncStateMachine(typeof(StateMachine))]
    public static Task<int> HandWrittenAsync(Task<int> gate)
    {
        var machine = new StateMachine { Builder = AsyncTaskMethodBuilder<int>.Create(), Gate = gate, State = -1 }; // location:HandWritten
        machine.Builder.Start(ref machine);
        return machine.Builder.Task;
    }

    /// <summary>Its builder field is not named as the compiler names it, and the builder is reached through a ref local.</summary>
    public struct StateMachine : IAsyncStateMachine
    {
        public AsyncTaskMethodBuilder<int> Builder;
        public Task<int> Gate;
        public int State;
        private TaskAwaiter<int> _awaiter;

        public void MoveNext()
        {
            int result;
            try
            {
                TaskAwaiter<int> awaiter;
                if (State == 0)
                {
                    awaiter = _awaiter;
                    _awaiter = default;
                    State = -1;
                }
                else
                {
                    awaiter = Gate.GetAwaiter();
                    if (!awaiter.IsCompleted)
                    {
                        State = 0;
                        _awaiter = awaiter;
                        ref AsyncTaskMethodBuilder<int> builder = ref Builder;
                        builder.AwaitUnsafeOnCompleted(ref awaiter, ref this);
                        return;
                    }
                }

                result = awaiter.GetResult() + 1;
            }
            catch (Exception exception)
            {
                State = -2;
                Builder.SetException(exception);
                return;
            }

            State = -2;
            Builder.SetResult(result);
        }

        public void SetStateMachine(IAsyncStateMachine stateMachine) => Builder.SetStateMachine(stateMachine);
    }
}
