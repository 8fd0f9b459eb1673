using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace LeakCorpus.Harness;

/// <summary>One scenario in one compilation of the corpus.</summary>
public sealed class CorpusCase
{
    /// <summary>The optimized compilation (struct state machines) and the unoptimized one (class state machines).</summary>
    public static readonly IReadOnlyList<(string Name, string Assembly)> Compilations = new[]
    {
        ("Release", "LeakCorpus"),
        ("Debug", "LeakCorpus.Debug"),
    };

    private CorpusCase(string compilation, Type type)
    {
        Compilation = compilation;
        Type = type;
        Scenario probe = Create();
        Name = probe.Name;
        Expected = probe.Expected;
    }

    /// <summary><c>Release</c> (optimized, struct state machines) or <c>Debug</c> (class state machines).</summary>
    public string Compilation { get; }

    /// <summary>The scenario type.</summary>
    public Type Type { get; }

    /// <summary>The scenario's name.</summary>
    public string Name { get; }

    /// <summary>What it must produce.</summary>
    public Expected Expected { get; }

    /// <summary>The full name TaskLeak reports for a method given relative to the scenario type.</summary>
    public string MethodName(string relative) => Type.FullName!.Replace('+', '.') + "." + relative;

    /// <summary>A fresh instance: every run starts from nothing.</summary>
    public Scenario Create() => (Scenario)Activator.CreateInstance(Type)!;

    /// <inheritdoc/>
    public override string ToString() => Name + " (" + Compilation + ")";

    /// <summary>Every scenario of every compilation, in a stable order (by verdict, then source order of names).</summary>
    public static IReadOnlyList<CorpusCase> Load(string? filter = null)
    {
        var cases = new List<CorpusCase>();
        foreach ((string compilation, string assemblyName) in Compilations)
        {
            Assembly assembly = Assembly.Load(new AssemblyName(assemblyName));
            foreach (Type type in assembly.GetTypes().Where(t => !t.IsAbstract && typeof(Scenario).IsAssignableFrom(t)))
            {
                if (filter is null || type.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
                {
                    cases.Add(new CorpusCase(compilation, type));
                }
            }
        }

        return cases.OrderBy(c => c.Expected.Verdict).ThenBy(c => c.Name, StringComparer.Ordinal)
            .ThenBy(c => c.Compilation == "Release" ? 0 : 1).ToList();
    }
}
