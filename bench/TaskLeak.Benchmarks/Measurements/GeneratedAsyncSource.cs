using System.Globalization;
using System.Text;

namespace TaskLeak.Benchmarks.Measurements;

/// <summary>
/// C# source for the weave-time measurement: <c>count</c> async methods of the common shapes (Task, Task&lt;T&gt;,
/// ValueTask&lt;T&gt;, an async iterator, try/finally around an await), two awaits each, 100 methods per class.
/// </summary>
internal static class GeneratedAsyncSource
{
    internal const string Namespace = "Generated";
    internal const int MethodsPerClass = 100;

    internal static string Create(int count)
    {
        var source = new StringBuilder();
        source.AppendLine("using System.Collections.Generic;");
        source.AppendLine("using System.Threading;");
        source.AppendLine("using System.Threading.Tasks;");
        source.Append("namespace ").Append(Namespace).AppendLine(";");
        for (int first = 0; first < count; first += MethodsPerClass)
        {
            source.Append("public static class C").Append(first / MethodsPerClass).AppendLine();
            source.AppendLine("{");
            for (int i = first; i < count && i < first + MethodsPerClass; i++)
            {
                string n = i.ToString(CultureInfo.InvariantCulture);
                source.AppendLine((i % 5) switch
                {
                    0 => $"    public static async Task<int> M{n}(Task<int> a, Task b) {{ int x = await a; await b.ConfigureAwait(false); return x + {n}; }}",
                    1 => $"    public static async Task M{n}(SemaphoreSlim s, Task a) {{ await s.WaitAsync(); try {{ await a; }} finally {{ s.Release(); }} }}",
                    2 => $"    public static async ValueTask<int> M{n}(ValueTask<int> a, Task<int> b) {{ return await a + await b + {n}; }}",
                    3 => $"    public static async IAsyncEnumerable<int> M{n}(Task<int> a, Task<int> b) {{ yield return await a; yield return await b + {n}; }}",
                    _ => $"    public static async Task M{n}(TaskCompletionSource<int> a, Task b) {{ await Task.WhenAll(a.Task, b); await Task.Yield(); }}",
                });
            }

            source.AppendLine("}");
        }

        return source.ToString();
    }
}
