using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Fody;
using Mono.Cecil;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>
/// The per-method guard and the build-side diagnostics: an unexpected exception while reading a method skips it with
/// a located TL0005 warning; one while rewriting stops the build naming the method; NoWarn codes are honoured; a
/// module without symbols gets one TL0006 note. Exceptions are forced through the weaver's internal BeforeStep seam.
/// </summary>
[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class GuardTests(Build build)
{
    private const string Injected = "injected by the test";

    [SetUp]
    public void SetUp()
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
    }

    [Test]
    public void An_exception_while_reading_a_method_skips_it_with_a_located_warning_and_the_build_goes_on()
    {
        TestResult result = Weave("ReadFault", WeaveStep.Analyse);

        SequencePointMessage warning = result.Warnings.Single(w => w.Text.StartsWith("TL0005", StringComparison.Ordinal));
        Assert.That(warning.Text, Is.EqualTo(
            "TL0005: AssemblyToProcess.MethodShapes.TaskAsync was not woven: the weaver failed while reading it " +
            $"(InvalidOperationException: {Injected}); please report this with the method's source. It runs unchanged and its " +
            "leaks will not be reported. [DoNotTrack] on it, or NoWarn TL0005, silences this."));
        Assert.That(warning.SequencePoint?.Document.Url, Does.EndWith("MethodShapes.cs"));
        Assert.That(ConfigurationTests.Summary(result), Does.Contain("; 2 skipped (see warnings)"), "this method and HandWritten.cs's");

        var skipped = new TaskCompletionSource<int>();
        var task = (Task)WovenAssemblies.Call(result.Assembly, "MethodShapes", "TaskAsync", skipped.Task)!;
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero, "the skipped method is untouched");
        var woven = new TaskCompletionSource<int>();
        var other = (Task<int>)WovenAssemblies.Call(result.Assembly, "MethodShapes", "TaskOfTAsync", woven.Task)!;
        Assert.That(TaskLeakDetector.PendingCount, Is.EqualTo(1), "the rest of the module is woven");
        skipped.SetResult(1);
        woven.SetResult(1);
        Assert.That(task.Wait(TimeSpan.FromSeconds(10)) && other.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(TaskLeakDetector.PendingCount, Is.Zero);
    }

    [Test]
    public void An_exception_while_scanning_a_method_leaves_it_out_with_a_located_warning()
    {
        TestResult result = Weave("ScanFault", WeaveStep.Scan, kickoff: true);

        Assert.That(result.Warnings.Select(w => w.Text), Has.One.StartsWith("TL0005: AssemblyToProcess.MethodShapes.TaskAsync was not woven"));
        Assert.That(ConfigurationTests.Summary(result), Does.Contain("; 2 skipped (see warnings)"));
    }

    [Test]
    public void An_exception_while_rewriting_a_method_fails_the_build_naming_the_method()
    {
        var exception = Assert.Throws<WeavingException>(() => Weave("RewriteFault", WeaveStep.Rewrite))!;

        Assert.That(exception.Message, Does.StartWith(
            $"TaskLeak: rewriting AssemblyToProcess.MethodShapes.TaskAsync failed part-way (InvalidOperationException: {Injected})"));
        Assert.That(exception.Message, Does.Contain("[DoNotTrack] on the method works around it"));
    }

    [Test]
    public void Codes_listed_in_the_projects_NoWarn_become_messages()
    {
        var weaver = new ModuleWeaver();
        weaver.Suppressed.Add("TL0001");
        TestResult result = weaver.ExecuteTestRun(WovenAssemblies.SourcePath(build), runPeVerify: false,
            assemblyName: AssemblyName("NoWarn"), writeSymbols: true);

        Assert.That(result.Warnings, Is.Empty);
        Assert.That(result.Messages.Select(m => m.Text), Has.One.Match(@"^TL0001: AssemblyToProcess\.HandWritten\.HandWrittenAsync was not woven: .* \(suppressed by NoWarn\)$"));
        Assert.That(ConfigurationTests.Summary(result), Does.Contain("; 1 skipped (see warnings)"), "still counted");
    }

    [Test]
    public void The_NoWarn_file_beside_the_intermediate_assembly_is_read()
    {
        string folder = Path.Combine(Path.GetTempPath(), "taskleak-nowarn-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllLines(Path.Combine(folder, ModuleWeaver.NoWarnFileName), new[] { "1701", "1702", "tl0004", "TL0006" });
            var weaver = new ModuleWeaver { AssemblyFilePath = Path.Combine(folder, "App.dll") };

            Assert.That(weaver.Suppressed, Is.EquivalentTo(new[] { "1701", "1702", "tl0004", "TL0006" }));
            Assert.That(weaver.Suppressed.Contains("TL0004"), Is.True, "codes match whatever their case");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void A_module_with_symbols_gets_no_symbols_note()
    {
        Assert.That(WovenAssemblies.Get(build).Messages.Select(m => m.Text), Has.None.Contains("TL0006"));
    }

    [Test]
    public void A_module_without_symbols_gets_one_note_that_reports_will_carry_IL_offsets()
    {
        string source = WovenAssemblies.SourcePath(build);
        string copy = Path.Combine(Path.GetDirectoryName(source)!, Path.GetFileNameWithoutExtension(source) + ".NoSymbols.dll");
        using (ModuleDefinition module = ModuleDefinition.ReadModule(source, new ReaderParameters { ReadSymbols = false }))
        {
            module.Write(copy);
        }

        TestResult result = new ModuleWeaver().ExecuteTestRun(copy, runPeVerify: false, assemblyName: AssemblyName("NoSymbols"));

        Assert.That(result.Messages.Select(m => m.Text).Where(m => m.Contains("TL0006", StringComparison.Ordinal)), Has.Exactly(1).Match(
            @"^TaskLeak: TL0006: \S+ has no symbols \(PDB\), so leak reports will name IL offsets \(Method\+IL_0045\) instead of file:line\."));
        Assert.That(WovenAssemblies.Sites(result).Select(s => s.Line).Distinct(), Is.EqualTo(new[] { 0 }), "every row has only its IL offset");
    }

    private string AssemblyName(string suffix) => (build == Build.Debug ? "AssemblyToProcess" : "AssemblyToProcessOptimized") + "." + suffix;

    /// <summary>Weaves with the given step of MethodShapes.TaskAsync (its MoveNext, or with <paramref name="kickoff"/> the method itself) throwing.</summary>
    private TestResult Weave(string suffix, WeaveStep step, bool kickoff = false)
    {
        var weaver = new ModuleWeaver
        {
            BeforeStep = (method, current) =>
            {
                bool target = kickoff
                    ? method.Name == "TaskAsync" && method.DeclaringType.Name == "MethodShapes"
                    : method.Name == "MoveNext" && method.DeclaringType.Name.StartsWith("<TaskAsync>", StringComparison.Ordinal) &&
                      method.DeclaringType.DeclaringType?.Name == "MethodShapes";
                if (target && current == step)
                {
                    throw new InvalidOperationException(Injected);
                }
            },
        };
        return weaver.ExecuteTestRun(WovenAssemblies.SourcePath(build), runPeVerify: false, assemblyName: AssemblyName(suffix), writeSymbols: true);
    }
}
