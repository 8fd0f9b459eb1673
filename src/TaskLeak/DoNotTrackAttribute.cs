using System;

namespace TaskLeak;

/// <summary>Tells the TaskLeak weaver to leave an async method, every async method of a type, or a whole assembly untouched.</summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Assembly | AttributeTargets.Module,
    Inherited = false)]
public sealed class DoNotTrackAttribute : Attribute
{
}
