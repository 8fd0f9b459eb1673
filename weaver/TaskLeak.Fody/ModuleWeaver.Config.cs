using System;
using System.Collections.Generic;
using System.Linq;
using System.Xml.Linq;
using Fody;

namespace TaskLeak.Fody;

public partial class ModuleWeaver
{
    private static readonly string[] s_knownAttributes = { "ExcludeNamespaces", "TrackSpawnSites" };

    /// <summary>Reads and validates the <c>&lt;TaskLeak/&gt;</c> element; anything unexpected fails the build by name.</summary>
    internal WeaverConfig ReadConfig()
    {
        XElement? element = Config;
        var config = new WeaverConfig();
        if (element is null)
        {
            return config;
        }

        foreach (XAttribute attribute in element.Attributes())
        {
            if (attribute.IsNamespaceDeclaration)
            {
                continue;
            }

            if (!s_knownAttributes.Contains(attribute.Name.LocalName, StringComparer.Ordinal))
            {
                throw new WeavingException(
                    $"TaskLeak: unknown attribute '{attribute.Name.LocalName}' (value '{attribute.Value}') in FodyWeavers.xml. " +
                    $"Known attributes: {string.Join(", ", s_knownAttributes)}.");
            }
        }

        foreach (XElement child in element.Elements())
        {
            throw new WeavingException($"TaskLeak: unexpected element <{child.Name.LocalName}> in FodyWeavers.xml; TaskLeak takes attributes only.");
        }

        if (element.Attribute("TrackSpawnSites") is { } track)
        {
            config.TrackSpawnSites = ParseBoolean(track);
        }

        if (element.Attribute("ExcludeNamespaces") is { } exclude)
        {
            config.ExcludedNamespaces = ParseNamespaces(exclude);
        }

        return config;
    }

    private static bool ParseBoolean(XAttribute attribute)
    {
        // The values xs:boolean allows, so that what the schema accepts the weaver accepts.
        switch (attribute.Value.Trim().ToLowerInvariant())
        {
            case "true":
            case "1":
                return true;
            case "false":
            case "0":
                return false;
            default:
                throw new WeavingException(
                    $"TaskLeak: attribute '{attribute.Name.LocalName}' must be 'true' or 'false', not '{attribute.Value}'.");
        }
    }

    private static IReadOnlyList<string> ParseNamespaces(XAttribute attribute)
    {
        var namespaces = new List<string>();
        foreach (string raw in attribute.Value.Split(new[] { ';', '|', '\n' }, StringSplitOptions.RemoveEmptyEntries))
        {
            string name = raw.Trim();
            if (name.Length == 0)
            {
                continue;
            }

            // 'A.B' (and below), 'A.B*' (any namespace starting so), 'A.B.*' (only below A.B).
            string bare = name.EndsWith(".*", StringComparison.Ordinal) ? name.Substring(0, name.Length - 2)
                : name.EndsWith("*", StringComparison.Ordinal) ? name.Substring(0, name.Length - 1)
                : name;
            bool valid = bare.Length > 0 && bare.Split('.').All(IsIdentifier);
            if (!valid || name.IndexOf('*') != name.Length - 1 && name.Contains("*"))
            {
                throw new WeavingException(
                    $"TaskLeak: attribute 'ExcludeNamespaces' has an invalid namespace '{name}' (value '{attribute.Value}'). " +
                    "Use dotted names separated by ';', optionally ending in '*'.");
            }

            namespaces.Add(name);
        }

        return namespaces;
    }

    private static bool IsIdentifier(string part) =>
        part.Length > 0 && (char.IsLetter(part[0]) || part[0] == '_') && part.All(c => char.IsLetterOrDigit(c) || c == '_');
}

/// <summary>The validated <c>&lt;TaskLeak/&gt;</c> settings.</summary>
internal sealed class WeaverConfig
{
    public bool TrackSpawnSites { get; set; } = true;

    public IReadOnlyList<string> ExcludedNamespaces { get; set; } = Array.Empty<string>();

    public bool IsExcluded(string? ns)
    {
        if (string.IsNullOrEmpty(ns))
        {
            return false;
        }

        foreach (string pattern in ExcludedNamespaces)
        {
            if (pattern.EndsWith("*", StringComparison.Ordinal))
            {
                if (ns!.StartsWith(pattern.Substring(0, pattern.Length - 1), StringComparison.Ordinal))
                {
                    return true;
                }
            }
            else if (ns == pattern || ns!.StartsWith(pattern + ".", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
