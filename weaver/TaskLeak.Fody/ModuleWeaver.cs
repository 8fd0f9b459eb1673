using System.Collections.Generic;
using Fody;

namespace TaskLeak.Fody;

/// <summary>
/// Rewrites a module's async state machines (and spawn sites) so that each suspended operation reports to the
/// TaskLeak runtime, and embeds the static site table those reports point into.
/// </summary>
public partial class ModuleWeaver : BaseModuleWeaver
{
    /// <inheritdoc/>
    public override void Execute()
    {
        WeaverConfig config = ReadConfig();
        if (IsAlreadyWoven())
        {
            WriteMessage("TaskLeak: module already woven; nothing to do.", MessageImportance.High);
            return;
        }

        var hooks = new HookReferences(this);
        var sites = new SiteTable(this, hooks);
        var summary = new WeaveSummary();

        foreach (AsyncMethod method in FindAsyncMethods(config, summary))
        {
            WeaveStateMachine(method, hooks, sites, summary);
        }

        WeaveRuntimeAsyncMethods(config, sites, summary);
        WeaveSpawnSites(config, hooks, sites, summary);

        sites.Emit();
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
