namespace TaskLeak.Configuration;

/// <summary>
/// The startup settings: read once, before the default detector tracks anything (it starts from them); changes from
/// code go to a detector (<see cref="Detector.Configure"/>).
/// </summary>
internal static class RuntimeSettings
{
    /// <summary>Environment, then AppContext, then defaults; read by the first type that needs a setting.</summary>
    internal static readonly TaskLeakOptions Startup = TaskLeakConfiguration.ReadFromProcess();
}
