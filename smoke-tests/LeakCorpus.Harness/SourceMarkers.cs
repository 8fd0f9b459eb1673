using System;
using System.Collections.Concurrent;
using System.IO;

namespace LeakCorpus.Harness;

/// <summary>Finds the line a marker comment ends (<c>await x; // leak:name</c>) in a scenario's source file.</summary>
public static class SourceMarkers
{
    private static readonly ConcurrentDictionary<string, string[]> s_files = new(StringComparer.Ordinal);

    /// <summary>The 1-based line of <paramref name="sourceFile"/> that ends with <c>// marker</c>; exactly one must.</summary>
    public static int LineOf(string sourceFile, string marker)
    {
        string[] lines = s_files.GetOrAdd(sourceFile, File.ReadAllLines);
        int found = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimEnd().EndsWith("// " + marker, StringComparison.Ordinal))
            {
                if (found != 0)
                {
                    throw new InvalidOperationException($"Marker '{marker}' ends more than one line of {sourceFile}.");
                }

                found = i + 1;
            }
        }

        return found != 0 ? found : throw new InvalidOperationException($"Marker '{marker}' not found in {sourceFile}.");
    }

    /// <summary><c>File.cs:line</c>, the form of TaskLeak's await sites.</summary>
    public static string SiteOf(string sourceFile, string marker) => Path.GetFileName(sourceFile) + ":" + LineOf(sourceFile, marker);
}
