using System.Threading;

namespace TaskLeak.Tracking;

/// <summary>
/// Where an operation came from, beyond its own frame: the spawn site that started the work and the leak scope
/// (a test) it belongs to. Both flow with the ExecutionContext, so they survive awaits and thread hops.
/// </summary>
internal sealed class OperationOrigin
{
    private static readonly AsyncLocal<OperationOrigin?> s_current = new();
    private static volatile bool s_used;

    private OperationOrigin(int spawnSite, int scope)
    {
        SpawnSite = spawnSite;
        Scope = scope;
    }

    internal int SpawnSite { get; }
    internal int Scope { get; }

    /// <summary>Reads the current origin; free until the first spawn site or scope is ever entered.</summary>
    internal static void Current(out int spawnSite, out int scope)
    {
        OperationOrigin? current = s_used ? s_current.Value : null;
        spawnSite = current?.SpawnSite ?? 0;
        scope = current?.Scope ?? 0;
    }

    internal static OperationOrigin? Value => s_used ? s_current.Value : null;

    /// <summary>Enters a spawn site for the work about to run; returns the previous origin to restore.</summary>
    internal static OperationOrigin? EnterSpawn(int spawnSite)
    {
        s_used = true;
        OperationOrigin? previous = s_current.Value;
        s_current.Value = new OperationOrigin(spawnSite, previous?.Scope ?? 0);
        return previous;
    }

    /// <summary>Enters a leak scope; spawned work inside it inherits the scope.</summary>
    internal static OperationOrigin? EnterScope(int scope)
    {
        s_used = true;
        OperationOrigin? previous = s_current.Value;
        s_current.Value = new OperationOrigin(previous?.SpawnSite ?? 0, scope);
        return previous;
    }

    internal static void Restore(OperationOrigin? previous) => s_current.Value = previous;
}
