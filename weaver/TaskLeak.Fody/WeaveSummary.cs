using System.Text;

namespace TaskLeak.Fody;

/// <summary>What one weave did, for the per-assembly line in the build output.</summary>
internal sealed class WeaveSummary
{
    private readonly string _assembly;

    public WeaveSummary(string assembly) => _assembly = assembly;

    public int AsyncMethods { get; set; }
    public int AwaitSites { get; set; }
    public int SpawnSites { get; set; }
    public int RuntimeAsyncMethods { get; set; }
    public int Skipped { get; set; }
    public int Excluded { get; set; }

    public override string ToString()
    {
        var text = new StringBuilder("TaskLeak: ").Append(_assembly).Append(": ");
        text.Append(AsyncMethods).Append(" async methods, ").Append(AwaitSites).Append(" await sites, ")
            .Append(SpawnSites).Append(" spawn sites woven");
        if (RuntimeAsyncMethods > 0)
        {
            text.Append(" (").Append(RuntimeAsyncMethods).Append(" runtime-async)");
        }

        text.Append("; ").Append(Skipped).Append(" skipped");
        if (Skipped > 0)
        {
            text.Append(" (see warnings)");
        }

        if (Excluded > 0)
        {
            text.Append("; ").Append(Excluded).Append(" excluded by configuration or [DoNotTrack]");
        }

        return text.ToString();
    }
}
