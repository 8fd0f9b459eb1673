using System.Threading.Tasks;

namespace AssemblyToProcess.Excluded.Deeper;

/// <summary>Woven by default; left untouched when FodyWeavers.xml excludes AssemblyToProcess.Excluded.</summary>
public static class ExcludedShapes
{
    public static async Task<int> MethodAsync(Task<int> gate) => await gate + 1;
}
