using System.Threading.Tasks;

namespace TaskLeak.NUnit.Samples;

/// <summary>Leaks whose await sites live in this file, which one sample ignores by file name.</summary>
public static class SiteFilterLeaks
{
    public static async Task InThisFileAsync(TaskCompletionSource<int> source) => await source.Task;
}
