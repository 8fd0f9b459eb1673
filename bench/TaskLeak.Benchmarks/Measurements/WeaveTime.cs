using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using Fody;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Mono.Cecil;
using TaskLeak.Benchmarks.Quick;
using TaskLeak.Fody;

namespace TaskLeak.Benchmarks.Measurements;

/// <summary>
/// How long the weaver takes on a big assembly: <c>count</c> generated async methods are compiled with Roslyn
/// (optimized, portable PDB, like a Release build) and woven with <see cref="ModuleWeaver"/> through FodyHelpers'
/// ExecuteTestRun (read with symbols, weave, write with symbols, as Fody does). A Cecil read+write of the same file
/// without weaving is timed too, so the weaver's own share is visible.
/// </summary>
internal static class WeaveTime
{
    internal static void Measure(WorkerReport report, int count, int repeats)
    {
        string directory = Path.Combine(Path.GetTempPath(), "TaskLeak.Benchmarks.Weave", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(directory);
        try
        {
            string n = count.ToString("N0", CultureInfo.InvariantCulture);
            string assembly = CompiledOnce(count, directory, report);
            if (assembly.Length == 0)
            {
                return;
            }

            // Cold (a build's weaver runs once per process), a plain Cecil read+write of the same file, then warm.
            TestResult? result = null;
            double cold = Time(() => result = Weave(assembly, "Generated.Woven0"));
            Check(report, result!, count);
            report.Figures[$"weave {n} async methods, first run in the process (s)"] = cold;
            if (repeats > 1)
            {
                report.Figures["Cecil read+write of it without weaving (s)"] = Time(() => ReadWrite(assembly, Path.Combine(directory, "copy.dll")));
                report.Figures[$"weave {n} async methods, warm (s)"] = Time(() => Weave(assembly, "Generated.Woven1"));
            }
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A woven copy may still be mapped by this process; the temp folder is left for the OS.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>
    /// The compiled generated assembly, copied into <paramref name="directory"/>. Compiling 10,000 methods takes Roslyn
    /// half a minute here, so the result is kept in a temp cache keyed by the source text and reused by later runs.
    /// </summary>
    private static string CompiledOnce(int count, string directory, WorkerReport report)
    {
        string text = GeneratedAsyncSource.Create(count);
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
        string cache = Path.Combine(Path.GetTempPath(), "TaskLeak.Benchmarks.Weave", "cache-" + key);
        string cached = Path.Combine(cache, "Generated.dll");
        string n = count.ToString("N0", CultureInfo.InvariantCulture);
        if (File.Exists(cached) && File.Exists(Path.ChangeExtension(cached, ".pdb")))
        {
            report.Notes.Add($"the generated {n}-method assembly was compiled by an earlier run (cached in {cache})");
        }
        else
        {
            string staging = Path.Combine(directory, "compile");
            Directory.CreateDirectory(staging);
            long start = Stopwatch.GetTimestamp();
            string compiled = Compile(text, staging, report);
            report.Figures[$"compile {n} async methods with Roslyn (s)"] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (compiled.Length == 0)
            {
                return "";
            }

            Directory.CreateDirectory(cache);
            File.Copy(Path.ChangeExtension(compiled, ".pdb"), Path.ChangeExtension(cached, ".pdb"), overwrite: true);
            File.Copy(compiled, cached, overwrite: true);
        }

        string assembly = Path.Combine(directory, "Generated.dll");
        File.Copy(cached, assembly, overwrite: true);
        File.Copy(Path.ChangeExtension(cached, ".pdb"), Path.ChangeExtension(assembly, ".pdb"), overwrite: true);
        return assembly;
    }

    private static string Compile(string text, string directory, WorkerReport report)
    {
        // The PDB names this path: the weaver reads sequence points from it, as in a real build.
        string path = Path.Combine(directory, "Generated.cs");
        File.WriteAllText(path, text);
        SyntaxTree tree = CSharpSyntaxTree.ParseText(text, new CSharpParseOptions(LanguageVersion.Latest), path, Encoding.UTF8);
        IEnumerable<MetadataReference> references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(TaskLeakDetector).Assembly.Location));
        CSharpCompilation compilation = CSharpCompilation.Create("Generated", new[] { tree }, references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release,
                nullableContextOptions: NullableContextOptions.Disable));
        string dll = Path.Combine(directory, "Generated.dll");
        using (FileStream pe = File.Create(dll))
        using (FileStream pdb = File.Create(Path.ChangeExtension(dll, ".pdb")))
        {
            EmitResult emitted = compilation.Emit(pe, pdb, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb));
            if (!emitted.Success)
            {
                string first = emitted.Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error)?.ToString() ?? "unknown error";
                report.Failures.Add($"the generated assembly did not compile: {first}");
                return "";
            }
        }

        return dll;
    }

    private static void Check(WorkerReport report, TestResult result, int count)
    {
        string? summary = result.Messages.Select(m => m.Text).FirstOrDefault(t => t.StartsWith("TaskLeak:", StringComparison.Ordinal) && t.Contains(" async methods, ", StringComparison.Ordinal));
        report.Notes.Add("weaver: " + (summary ?? "(no summary message)"));
        if (summary is null || !summary.Contains($": {count} async methods, ", StringComparison.Ordinal) || !summary.EndsWith(" 0 skipped", StringComparison.Ordinal))
        {
            report.Failures.Add($"the weaver did not weave all {count} generated methods: {summary}");
        }

        if (result.Errors.Count > 0 || result.Warnings.Count > 0)
        {
            report.Failures.Add($"the weaver reported {result.Errors.Count} errors and {result.Warnings.Count} warnings: " +
                string.Join(" | ", result.Errors.Select(e => e.Text).Concat(result.Warnings.Select(w => w.Text)).Take(3)));
        }

        // Woven IL only proves itself by running: one method of each shape, suspended and resumed for real.
        Type type = result.Assembly.GetType(GeneratedAsyncSource.Namespace + ".C0", throwOnError: true)!;
        Task<string?> shapes = RunEveryShape(type);
        string? problem = shapes.Wait(TimeSpan.FromSeconds(10)) ? shapes.Result : "timed out";
        if (problem is not null)
        {
            report.Failures.Add("a woven generated method misbehaved: " + problem);
        }
    }

    /// <summary>Runs M0..M4 of the first generated class (one per shape) across a real suspension each.</summary>
    private static async Task<string?> RunEveryShape(Type type)
    {
        object? Call(string name, params object[] arguments) => type.GetMethod(name)!.Invoke(null, arguments);

        var a0 = new TaskCompletionSource<int>();
        var m0 = (Task<int>)Call("M0", a0.Task, Task.CompletedTask)!;
        a0.SetResult(1);
        if (await m0 != 1)
        {
            return "M0 (Task<int>) returned a wrong value";
        }

        var semaphore = new System.Threading.SemaphoreSlim(1);
        var a1 = new TaskCompletionSource<int>();
        var m1 = (Task)Call("M1", semaphore, a1.Task)!;
        a1.SetResult(0);
        await m1;
        if (semaphore.CurrentCount != 1)
        {
            return "M1 (Task, try/finally) did not run its finally";
        }

        var a2 = new TaskCompletionSource<int>();
        var m2 = ((ValueTask<int>)Call("M2", new ValueTask<int>(a2.Task), Task.FromResult(1))!).AsTask();
        a2.SetResult(1);
        if (await m2 != 4)
        {
            return "M2 (ValueTask<int>) returned a wrong value";
        }

        var a3 = new TaskCompletionSource<int>();
        var items = new List<int>();
        var b3 = new TaskCompletionSource<int>();
        Task iterate = Enumerate((IAsyncEnumerable<int>)Call("M3", a3.Task, b3.Task)!, items);
        a3.SetResult(1);
        b3.SetResult(1);
        await iterate;
        if (items.Count != 2 || items[0] != 1 || items[1] != 4)
        {
            return "M3 (async iterator) yielded wrong items";
        }

        var a4 = new TaskCompletionSource<int>();
        var m4 = (Task)Call("M4", a4, Task.CompletedTask)!;
        a4.SetResult(0);
        await m4;
        return null;
    }

    private static async Task Enumerate(IAsyncEnumerable<int> source, List<int> items)
    {
        await foreach (int item in source)
        {
            items.Add(item);
        }
    }

    private static TestResult Weave(string assembly, string name) =>
        new ModuleWeaver().ExecuteTestRun(assembly, runPeVerify: false, assemblyName: name, writeSymbols: true);

    private static void ReadWrite(string assembly, string copy)
    {
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(TaskLeakDetector).Assembly.Location)!);
        using ModuleDefinition module = ModuleDefinition.ReadModule(assembly, new ReaderParameters { ReadSymbols = true, AssemblyResolver = resolver });
        module.Write(copy, new WriterParameters { WriteSymbols = true });
    }

    private static double Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

}
