using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fody;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace TaskLeak.Fody;

/// <summary>
/// The weaver's diagnostic codes. Stable: users list them in <c>NoWarn</c>; never renumber or reuse one.
/// Fody logs every weaver warning with an empty MSBuild code, so MSBuild's own NoWarn cannot match them: the code is
/// the start of the message, and TaskLeak.Fody.targets hands the project's NoWarn to the weaver, which drops those.
/// </summary>
internal static class Codes
{
    /// <summary>A compiler state machine the weaver does not understand: the method is left as it is.</summary>
    internal const string StateMachineSkipped = "TL0001";

    /// <summary>A runtime-async method the weaver does not understand: the method is left as it is.</summary>
    internal const string RuntimeAsyncSkipped = "TL0002";

    /// <summary>Runtime-async methods, but the referenced runtime (netstandard2.0 build) has no runtime-async hooks.</summary>
    internal const string RuntimeAsyncHooksMissing = "TL0003";

    /// <summary>A spawn call behind an IL prefix: nothing can be inserted between the prefix and its call.</summary>
    internal const string SpawnSkipped = "TL0004";

    /// <summary>An unexpected exception while analysing a method: the method is left as it is, the build goes on.</summary>
    internal const string InternalError = "TL0005";

    /// <summary>Note (a message, not a warning): the module has no symbols, so reports will carry IL offsets.</summary>
    internal const string NoSymbols = "TL0006";
}

/// <summary>Which step of a method's weaving the per-method guard is running.</summary>
internal enum WeaveStep
{
    /// <summary>The one scan of the module, method by method; a failure leaves that method out.</summary>
    Scan,

    /// <summary>Reading the IL and deciding; nothing changed yet, so a failure can skip the method.</summary>
    Analyse,

    /// <summary>Rewriting the IL; a failure may leave the method half-rewritten, so the build must stop.</summary>
    Rewrite,
}

public partial class ModuleWeaver
{
    /// <summary>The file TaskLeak.Fody.targets writes into the intermediate folder: the project's NoWarn, one code a line.</summary>
    internal const string NoWarnFileName = "TaskLeak.Fody.nowarn";

    private HashSet<string>? _suppressed;

    /// <summary>Test seam: called at the start of every guarded step, so a test can make one method's step throw.</summary>
    internal Action<MethodDefinition, WeaveStep>? BeforeStep { get; set; }

    /// <summary>Codes suppressed by the project (its NoWarn, through the targets file) or by the weaver's own test runs.</summary>
    internal ISet<string> Suppressed => _suppressed ??= ReadSuppressed();

    private HashSet<string> ReadSuppressed()
    {
        var codes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string? folder = string.IsNullOrEmpty(AssemblyFilePath) ? null : Path.GetDirectoryName(AssemblyFilePath);
        string? file = folder is null ? null : Path.Combine(folder, NoWarnFileName);
        if (file is not null && File.Exists(file))
        {
            foreach (string code in File.ReadAllText(file).Split(new[] { ';', ',', '\n', '\r', ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries))
            {
                codes.Add(code.Trim());
            }
        }

        return codes;
    }

    /// <summary>
    /// A coded warning, at <paramref name="point"/> when known. A suppressed code becomes a low-importance message,
    /// so <c>-v:d</c> still shows what was skipped.
    /// </summary>
    internal void Warn(string code, string message, SequencePoint? point)
    {
        string text = code + ": " + message;
        if (Suppressed.Contains(code))
        {
            WriteDebug(text + " (suppressed by NoWarn)");
        }
        else if (point is null)
        {
            WriteWarning(text);
        }
        else
        {
            WriteWarning(text, point);
        }
    }

    /// <summary>A coded warning for a method the weaver leaves as it is, at the method's first line, saying how to silence it.</summary>
    internal void WarnSkipped(string code, string name, MethodDefinition at, MethodDefinition? alternative, string reason, WeaveSummary summary)
    {
        summary.Skipped++;
        Warn(code,
            $"{name} was not woven: {reason}. It runs unchanged and its leaks will not be reported. " +
            $"[DoNotTrack] on it, or NoWarn {code}, silences this.",
            FirstSequencePoint(at) ?? (alternative is null ? null : FirstSequencePoint(alternative)));
    }

    /// <summary>
    /// Runs one method's analysis. An unexpected exception (a Cecil failure, an IL shape nothing foresaw) becomes a
    /// located TL0005 warning and the method is skipped: nothing has been changed yet, so the build can go on.
    /// Configuration errors (<see cref="WeavingException"/>) still stop the build.
    /// </summary>
    internal T? Analyse<T>(MethodDefinition method, MethodDefinition user, WeaveSummary summary, Func<T?> analyse, WeaveStep step = WeaveStep.Analyse)
        where T : class
    {
        try
        {
            BeforeStep?.Invoke(method, step);
            return analyse();
        }
        catch (Exception exception) when (exception is not WeavingException)
        {
            WarnSkipped(Codes.InternalError, CSharpNames.Method(user, out _), user, method,
                $"the weaver failed while reading it ({exception.GetType().Name}: {exception.Message}); please report this with the method's source", summary);
            return null;
        }
    }

    /// <summary>
    /// Runs one method's rewrite. A failure here can leave the method half-rewritten (registering an operation it never
    /// releases, or invalid IL), so continuing would be wrong: the build stops with a <see cref="WeavingException"/>
    /// naming the method.
    /// </summary>
    internal void Rewrite(MethodDefinition method, MethodDefinition user, Action rewrite)
    {
        try
        {
            BeforeStep?.Invoke(method, WeaveStep.Rewrite);
            rewrite();
        }
        catch (Exception exception) when (exception is not WeavingException)
        {
            throw new WeavingException(
                $"TaskLeak: rewriting {CSharpNames.Method(user, out _)} failed part-way ({exception.GetType().Name}: {exception.Message}), " +
                "so the assembly cannot be written safely. [DoNotTrack] on the method works around it; please report this with the method's source.");
        }
    }

    /// <summary>One build-time note for a module without symbols: every report from it will name IL offsets, not lines.</summary>
    private void NoteMissingSymbols(int sites)
    {
        if (sites == 0 || ModuleDefinition.HasSymbols || Suppressed.Contains(Codes.NoSymbols))
        {
            return;
        }

        WriteMessage(
            $"TaskLeak: {Codes.NoSymbols}: {ModuleDefinition.Assembly.Name.Name} has no symbols (PDB), so leak reports will name IL offsets " +
            "(Method+IL_0045) instead of file:line. Build with <DebugType>portable</DebugType> (the SDK default) to get lines.",
            MessageImportance.High);
    }

    private static SequencePoint? FirstSequencePoint(MethodDefinition method) =>
        method.DebugInformation.HasSequencePoints ? method.DebugInformation.SequencePoints.FirstOrDefault(p => !p.IsHidden) : null;
}
