using System;
using System.Collections.Concurrent;
using System.IO;
using System.Reflection;
using Fody;
using TaskLeak.Fody;

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

    public static TestResult Get(Build build) => s_results.GetOrAdd(build, Weave);

    public static Assembly Assembly(Build build) => Get(build).Assembly;

    /// <summary>A type of the woven assembly.</summary>
    public static Type Type(Build build, string name) =>
        Assembly(build).GetType("AssemblyToProcess." + name, throwOnError: true)!;

    /// <summary>Calls a public static method of the woven assembly.</summary>
    public static object? Call(Build build, string type, string method, params object?[] arguments) =>
        Type(build, type).GetMethod(method, BindingFlags.Public | BindingFlags.Static)!.Invoke(null, arguments);

    private static TestResult Weave(Build build)
    {
        string name = build == Build.Debug ? "AssemblyToProcess" : "AssemblyToProcessOptimized";
        string path = Path.Combine(AppContext.BaseDirectory, name + ".dll");
        var weaver = new ModuleWeaver();
        return weaver.ExecuteTestRun(path, runPeVerify: false, assemblyName: name + ".Woven", writeSymbols: true);
    }
}
