using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Xml.Linq;
using Fody;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody.Tests;

/// <summary>Which compilation of AssemblyToProcess a test runs against.</summary>
public enum Build
{
    /// <summary>Unoptimized: class state machines.</summary>
    Debug,

    /// <summary>Optimized: struct state machines.</summary>
    Release,
}

/// <summary>Weaves each AssemblyToProcess compilation once per test run and hands out the woven copy.</summary>
public static class WovenAssemblies
{
    private static readonly ConcurrentDictionary<Build, TestResult> s_results = new();

    public static TestResult Get(Build build) => s_results.GetOrAdd(build, b => Weave(b, "Woven"));

    public static Assembly Assembly(Build build) => Get(build).Assembly;

    /// <summary>A type of the woven assembly.</summary>
    public static Type Type(Build build, string name) =>
        Assembly(build).GetType("AssemblyToProcess." + name, throwOnError: true)!;

    /// <summary>Calls a public static method of the woven assembly.</summary>
    public static object? Call(Build build, string type, string method, params object?[] arguments) =>
        Call(Assembly(build), type, method, arguments);

    public static object? Call(Assembly assembly, string type, string method, params object?[] arguments) =>
        assembly.GetType("AssemblyToProcess." + type, throwOnError: true)!
            .GetMethod(method, BindingFlags.Public | BindingFlags.Static)!
            .Invoke(null, arguments);

    /// <summary>The unwoven AssemblyToProcess compilation for a build.</summary>
    public static string SourcePath(Build build) =>
        Path.Combine(AppContext.BaseDirectory, (build == Build.Debug ? "AssemblyToProcess" : "AssemblyToProcessOptimized") + ".dll");

    /// <summary>Weaves a fresh copy, optionally with a FodyWeavers.xml element and an edit of the module before weaving.</summary>
    public static TestResult Weave(Build build, string suffix, string? config = null, Action<ModuleDefinition>? before = null, string? path = null)
    {
        string name = (build == Build.Debug ? "AssemblyToProcess" : "AssemblyToProcessOptimized") + "." + suffix;
        var weaver = new ModuleWeaver();
        if (config is not null)
        {
            weaver.Config = XElement.Parse(config);
        }

        return weaver.ExecuteTestRun(path ?? SourcePath(build), runPeVerify: false, beforeExecuteCallback: before, assemblyName: name, writeSymbols: true);
    }

    /// <summary>The site table the weaver embedded in a woven assembly, one row per await site.</summary>
    public static IReadOnlyList<SiteRowView> Sites(TestResult result)
    {
        using ModuleDefinition module = ModuleDefinition.ReadModule(result.AssemblyPath);
        TypeDefinition? table = module.Types.FirstOrDefault(t => t.Name == "<TaskLeak>Sites");
        if (table is null)
        {
            return Array.Empty<SiteRowView>();
        }

        string text = (string)table.Methods.Single(m => m.IsConstructor && m.IsStatic).Body.Instructions.First(i => i.OpCode == OpCodes.Ldstr).Operand;
        string[] records = text.Split('\n');
        if (records[0] != "TaskLeakSites:1")
        {
            throw new InvalidOperationException("the site table does not start with its version header: " + records[0]);
        }

        return records.Skip(1).Select(SiteRowView.Parse).ToList();
    }

    /// <summary>The 1-based line of the only line of <c>tests/AssemblyToProcess/<paramref name="file"/></c> ending in the comment <c>// <paramref name="marker"/></c>.</summary>
    public static int LineOf(string file, string marker, [CallerFilePath] string here = "")
    {
        string path = Path.Combine(Path.GetDirectoryName(here)!, "..", "AssemblyToProcess", file);
        string[] lines = File.ReadAllLines(path);
        int[] found = Enumerable.Range(0, lines.Length).Where(i => lines[i].TrimEnd().EndsWith(marker, StringComparison.Ordinal) && lines[i].Contains("// " + marker, StringComparison.Ordinal)).ToArray();
        if (found.Length != 1)
        {
            throw new InvalidOperationException($"'{marker}' occurs {found.Length} times in {file}");
        }

        return found[0] + 1;
    }
}

/// <summary>One row of a woven module's site table.</summary>
public sealed record SiteRowView(string Kind, string Method, string SourcePath, int Line, string Target, string Detail, string Shape)
{
    public static SiteRowView Parse(string record)
    {
        string[] f = record.Split('\u001F');
        return new SiteRowView(f[0], f[1], f[2], int.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture), f[5], f[6], f[7]);
    }

    public string Location => Path.GetFileName(SourcePath) + ":" + Line;
}
