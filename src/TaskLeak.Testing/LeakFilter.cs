using System;
using System.Collections.Generic;

namespace TaskLeak.Testing;

/// <summary>The ignore lists of <see cref="TaskLeakAssertOptions"/>, matched against reported names.</summary>
internal sealed class LeakFilter
{
    private readonly string[] _methods;
    private readonly string[] _sites;

    internal LeakFilter(TaskLeakAssertOptions options)
    {
        _methods = ToArray(options.IgnoredMethods);
        _sites = ToArray(options.IgnoredSites);
    }

    /// <summary>A proven leak is ignored when its stuck await or any await in its chain matches.</summary>
    internal bool IsIgnored(TaskLeakGroup group)
    {
        if (Matches(group.Method, group.AwaitSite))
        {
            return true;
        }

        foreach (string awaiter in group.AwaitedBy)
        {
            // "Namespace.Type.Method (File.cs:12)"
            int open = awaiter.LastIndexOf(" (", StringComparison.Ordinal);
            if (open > 0 && awaiter.EndsWith(")", StringComparison.Ordinal)
                && Matches(awaiter.Substring(0, open), awaiter.Substring(open + 2, awaiter.Length - open - 3)))
            {
                return true;
            }
        }

        return false;
    }

    internal bool IsIgnored(PendingOperationGroup group) => Matches(group.Method, group.AwaitSite);

    private bool Matches(string method, string site)
    {
        foreach (string pattern in _methods)
        {
            if (pattern.EndsWith("*", StringComparison.Ordinal)
                    ? method.StartsWith(pattern.Substring(0, pattern.Length - 1), StringComparison.Ordinal)
                    : string.Equals(method, pattern, StringComparison.Ordinal))
            {
                return true;
            }
        }

        foreach (string pattern in _sites)
        {
            // "File.cs:12" names one await; "File.cs" every await in the file.
            if (string.Equals(site, pattern, StringComparison.Ordinal)
                || (site.Length > pattern.Length && site[pattern.Length] == ':' && site.StartsWith(pattern, StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    private static string[] ToArray(ICollection<string> items)
    {
        var array = new List<string>(items.Count);
        foreach (string item in items)
        {
            if (!string.IsNullOrEmpty(item))
            {
                array.Add(item);
            }
        }

        return array.ToArray();
    }
}
