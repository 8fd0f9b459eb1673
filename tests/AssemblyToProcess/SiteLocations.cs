using System;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace AssemblyToProcess;

/// <summary>
/// Sites reached from a join whose nearest sequence point in layout belongs to another line: a straight backwards walk
/// names the last arm; every path must name the statement or, where the ways disagree, no line.
/// </summary>
public static class SiteLocations
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task SpawnAfterSwitch(int kind) =>
        Task.Run(kind switch // site:SpawnAfterSwitch
        {
            0 => (Action)Nothing, // site:SpawnAfterSwitchFirstArm
            _ => Something, // site:SpawnAfterSwitchLastArm
        });

    public static async Task<int> AwaitAfterSwitchAsync(int kind, Task<int> first, Task<int> second) =>
        await (kind switch // site:AwaitAfterSwitch
        {
            0 => first, // site:AwaitAfterSwitchFirstArm
            _ => second, // site:AwaitAfterSwitchLastArm
        }) + 1;

    private static void Nothing()
    {
    }

    private static void Something()
    {
    }
}
