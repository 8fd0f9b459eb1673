using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using LeakCorpus.Harness;

namespace LeakCorpus.Runner;

/// <summary>
/// <c>dotnet run -c Release --project smoke-tests/LeakCorpus.Runner [-- --filter Name] [-- --no-event27]</c>: every
/// scenario of both compilations against TaskLeak here, then against event 27 in a child process, then the tables.
/// Exit code 1 when TaskLeak got any scenario wrong.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        bool event27Pass = args.Contains(Event27Process.Flag);
        if (event27Pass)
        {
            // Before anything creates a task: boxes made while the event is off are never reported.
            Event27Pass.Enable();
        }

        string? filter = Option(args, "--filter");
        IReadOnlyList<CorpusCase> cases = CorpusCase.Load(filter);
        if (event27Pass)
        {
            Event27Process.RunPass(cases, Console.Out);
            return 0;
        }

        Console.Error.WriteLine($"TaskLeak pass: {cases.Count} runs ({cases.Select(c => c.Name).Distinct().Count()} scenarios x {CorpusCase.Compilations.Count} compilations)");
        var taskLeak = new Dictionary<(string, string), Assessment>();
        foreach (CorpusCase corpusCase in cases)
        {
            TaskLeakOutcome outcome = TaskLeakPass.Run(corpusCase);
            taskLeak[(corpusCase.Name, corpusCase.Compilation)] = Assessment.OfTaskLeak(corpusCase, outcome);
            if (args.Contains("--details"))
            {
                foreach (TaskLeak.TaskLeakGroup group in outcome.Leaks)
                {
                    Console.Error.WriteLine($"  {corpusCase}: {group} | startedBy={group.StartedBy} | stack={group.CreationStack?.Split('\n').Length} lines");
                }

                foreach (TaskLeak.StalledOperationGroup group in outcome.Stalled)
                {
                    Console.Error.WriteLine($"  {corpusCase}: stalled {group}");
                }
            }
        }

        Dictionary<(string, string), Assessment>? event27 = null;
        if (!args.Contains("--no-event27"))
        {
            Console.Error.WriteLine("event-27 pass: a child process with TplEventSource's AsyncMethod keyword enabled");
            string runner = Assembly.GetEntryAssembly()!.Location;
            event27 = new Dictionary<(string, string), Assessment>();
            foreach (Event27Outcome outcome in Event27Process.Launch(runner, filter, TimeSpan.FromMinutes(10)))
            {
                CorpusCase corpusCase = cases.Single(c => c.Name == outcome.Scenario && c.Compilation == outcome.Compilation);
                event27[(outcome.Scenario, outcome.Compilation)] = Assessment.OfEvent27(corpusCase, outcome);
                if (args.Contains("--details"))
                {
                    foreach (string e in outcome.Events)
                    {
                        Console.Error.WriteLine($"  {corpusCase}: event 27 {e.Replace('\n', ' ')}");
                    }
                }
            }
        }

        var rows = cases.GroupBy(c => c.Name).Select(g => new CorpusRow(
            g.Key,
            g.First().Expected,
            g.ToDictionary(c => c.Compilation, c => taskLeak[(c.Name, c.Compilation)]),
            event27 is null ? null : g.Where(c => event27.ContainsKey((c.Name, c.Compilation))).ToDictionary(c => c.Compilation, c => event27[(c.Name, c.Compilation)])))
            .ToList();

        Console.WriteLine(CorpusTable.FormatRows(rows));
        Console.WriteLine(CorpusTable.FormatTotals(rows));
        Console.WriteLine("M L T C: the report names the method, the await line, the wait target, the creation site (\u2713 yes, ~ partly, \u2717 no); \u2717 after a verdict: wrong.");

        var wrong = cases.Where(c => !taskLeak[(c.Name, c.Compilation)].Correct || taskLeak[(c.Name, c.Compilation)].Error is not null).ToList();
        foreach (CorpusCase c in wrong)
        {
            Console.WriteLine($"TaskLeak wrong on {c}: {taskLeak[(c.Name, c.Compilation)]}");
        }

        return wrong.Count == 0 ? 0 : 1;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
