using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace AssemblyToProcess;

/// <summary>Async iterators: a yield releases the operation, the next await registers it again.</summary>
public static class IteratorShapes
{
    public static int Disposed;

    /// <summary>Yields 1, then <c>first</c>, then every item of an inner iterator over <c>second</c>; disposes a resource asynchronously.</summary>
    public static async IAsyncEnumerable<int> IteratorAsync(Task<int> first, Task<int> second)
    {
        await using (var resource = new AsyncResource()) // await:AwaitUsing
        {
            yield return 1;
            yield return await first; // await:Iterator
            await foreach (int item in InnerAsync(second)) // await:IteratorForeach
            {
                yield return item;
            }
        }
    }

    public static async IAsyncEnumerable<int> InnerAsync(Task<int> gate)
    {
        yield return await gate + 1; // await:InnerIterator
    }

    /// <summary>IAsyncEnumerator&lt;T&gt; returned directly, with the cancellation token flowing to the await.</summary>
    public static async IAsyncEnumerator<int> EnumeratorAsync(Task<int> gate, CancellationToken cancellationToken)
    {
        yield return 1;
        yield return await gate.WaitAsync(cancellationToken); // await:Enumerator
    }

    public sealed class AsyncResource : System.IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Task.Yield(); // await:DisposeAsync
            Interlocked.Increment(ref Disposed);
        }
    }
}
