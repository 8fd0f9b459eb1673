using System.Collections.Generic;
using Fody;

namespace TaskLeak.Fody;

/// <summary>
/// Rewrites a module's async methods (state machines and runtime-async methods) and spawn sites so that each suspended
/// operation reports to the TaskLeak runtime, and embeds the static site table those reports point into.
/// </summary>
/// <remarks>
/// One pipeline for every path: one scan of the module (<see cref="ScanModule"/>), one describer of sites
/// (<see cref="SiteDescriber"/>: name, location, awaited expression, the row), one stack analysis
/// (<see cref="IlStack"/>), one per-method guard (<see cref="Analyse{T}"/>, <see cref="Rewrite"/>). Each path's file
/// decides only what to insert.
/// </remarks>
public partial class ModuleWeaver : BaseModuleWeaver
{
    /// <inheritdoc/>
    public override void Execute()
    {
        WeaverConfig config = ReadConfig();
        if (IsAlreadyWoven())
        {
            WriteMessage($"TaskLeak: {ModuleDefinition.Assembly.Name.Name}: module already woven; nothing to do.", MessageImportance.High);
            return;
        }

        var hooks = new HookReferences(this);
        var sites = new SiteTable(this, hooks);
        var summary = new WeaveSummary(ModuleDefinition.Assembly.Name.Name);
        ModuleScan scan = ScanModule(config, summary);

        foreach (AsyncMethod method in scan.StateMachines)
        {
            WeaveStateMachine(method, hooks, sites, summary);
        }

        WeaveRuntimeAsyncMethods(scan, sites, summary);
        if (config.TrackSpawnSites)
        {
            WeaveSpawnSites(scan, hooks, sites, summary);
        }

        sites.Emit();
        NoteMissingSymbols(sites.Count);
        WriteMessage(summary.ToString(), MessageImportance.High);
    }

    /// <inheritdoc/>
    public override IEnumerable<string> GetAssembliesForScanning()
    {
        yield return "TaskLeak";
        yield return "netstandard";
        yield return "mscorlib";
        yield return "System.Runtime";
        yield return "System.Threading.Tasks";
        yield return "System.Private.CoreLib";
    }

    /// <summary>Woven code calls the TaskLeak runtime, so the reference must stay.</summary>
    public override bool ShouldCleanReference => false;
}
