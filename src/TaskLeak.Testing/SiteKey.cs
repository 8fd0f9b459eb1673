namespace TaskLeak.Testing;

/// <summary>Leaks and pending operations are counted per await site: a method and its <c>File.cs:line</c>.</summary>
internal static class SiteKey
{
    internal static string Of(TaskLeakGroup group) => group.Method + "|" + group.AwaitSite;

    internal static string Of(PendingOperationGroup group) => group.Method + "|" + group.AwaitSite;
}
