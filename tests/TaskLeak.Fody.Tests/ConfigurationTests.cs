using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using System.Xml.Linq;
using Fody;
using Mono.Cecil;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>The &lt;TaskLeak/&gt; element of FodyWeavers.xml: every attribute validated, documented, and honoured.</summary>
[NonParallelizable]
public class ConfigurationTests
{
    [TestCase("<TaskLeak TrackSpawnSites='maybe' />", "TrackSpawnSites", "maybe")]
    [TestCase("<TaskLeak TrackSpawnSites='' />", "TrackSpawnSites", "''")]
    [TestCase("<TaskLeak TrackSpawnSites='yes' />", "TrackSpawnSites", "yes")]
    [TestCase("<TaskLeak TrackSpawnSites='2' />", "TrackSpawnSites", "'2'")]
    [TestCase("<TaskLeak ExcludeNamespaces='My App' />", "ExcludeNamespaces", "My App")]
    [TestCase("<TaskLeak ExcludeNamespaces='Foo..Bar' />", "ExcludeNamespaces", "Foo..Bar")]
    [TestCase("<TaskLeak ExcludeNamespaces='*Foo' />", "ExcludeNamespaces", "*Foo")]
    [TestCase("<TaskLeak ExcludeNamespaces='Foo*Bar' />", "ExcludeNamespaces", "Foo*Bar")]
    [TestCase("<TaskLeak ExcludeNamespaces='.Foo' />", "ExcludeNamespaces", ".Foo")]
    [TestCase("<TaskLeak ExcludeNamespaces='Good;1Bad' />", "ExcludeNamespaces", "1Bad")]
    [TestCase("<TaskLeak ExcludeNamespaces='Foo.' />", "ExcludeNamespaces", "Foo.")]
    [TestCase("<TaskLeak Exclude='Foo' />", "Exclude", "Foo")]
    [TestCase("<TaskLeak><Exclude>Foo</Exclude></TaskLeak>", "<Exclude>", "")]
    public void A_bad_value_fails_the_build_naming_the_attribute_and_the_value(string element, string attribute, string value)
    {
        var weaver = new ModuleWeaver { Config = XElement.Parse(element) };

        var exception = Assert.Throws<WeavingException>(() => weaver.ReadConfig())!;

        Assert.That(exception.Message, Does.StartWith("TaskLeak: "));
        Assert.That(exception.Message, Does.Contain("'" + attribute + "'").Or.Contain(attribute));
        Assert.That(exception.Message, Does.Contain(value));
    }

    [Test]
    public void A_bad_value_stops_the_weave_before_anything_is_written()
    {
        Assert.That(() => WovenAssemblies.Weave(Build.Debug, "BadConfig", "<TaskLeak TrackSpawnSites='maybe' />"),
            Throws.InstanceOf<WeavingException>().With.Message.Contains("'TrackSpawnSites'").And.Message.Contains("'maybe'"));
    }

    [TestCase("<TaskLeak />", true)]
    [TestCase("<TaskLeak TrackSpawnSites='true' />", true)]
    [TestCase("<TaskLeak TrackSpawnSites=' False ' />", false)]
    [TestCase("<TaskLeak TrackSpawnSites='1' />", true)]
    [TestCase("<TaskLeak TrackSpawnSites='0' />", false)]
    public void TrackSpawnSites_takes_the_values_xs_boolean_allows(string element, bool expected)
    {
        Assert.That(new ModuleWeaver { Config = XElement.Parse(element) }.ReadConfig().TrackSpawnSites, Is.EqualTo(expected));
    }

    [TestCase("App.Generated", "App.Generated", true)]
    [TestCase("App.Generated", "App.Generated.Deeper", true)]
    [TestCase("App.Generated", "App.GeneratedToo", false)]
    [TestCase("App.Generated", "App", false)]
    [TestCase("App.Gen*", "App.GeneratedToo", true)]
    [TestCase("App.Generated.*", "App.Generated", false)]
    [TestCase("App.Generated.*", "App.Generated.Deeper", true)]
    [TestCase(" Other ; App.Generated | Third ", "App.Generated", true)]
    [TestCase("", "App", false)]
    public void ExcludeNamespaces_matches_a_namespace_and_what_lies_below_it(string value, string ns, bool excluded)
    {
        WeaverConfig config = new ModuleWeaver { Config = new XElement("TaskLeak", new XAttribute("ExcludeNamespaces", value)) }.ReadConfig();

        Assert.That(config.IsExcluded(ns), Is.EqualTo(excluded));
    }

    [TestCase(Build.Debug)]
    [TestCase(Build.Release)]
    [NonParallelizable]
    public void An_excluded_namespace_is_left_untouched(Build build)
    {
        TestResult result = WovenAssemblies.Weave(build, "Excluded", "<TaskLeak ExcludeNamespaces='AssemblyToProcess.Excluded' />");

        Assert.That(WovenAssemblies.Sites(result).Select(s => s.Method), Has.None.StartsWith("AssemblyToProcess.Excluded."));
        Assert.That(ExcludedCount(Summary(result)), Is.EqualTo(ExcludedCount(Summary(WovenAssemblies.Get(build))) + 1));
        AssertNotReported(result.Assembly, "Excluded.Deeper.ExcludedShapes", "MethodAsync");
        AssertReported(result.Assembly, "OptOut", "TrackedAsync");
    }

    [Test]
    public void The_default_weave_tracks_the_namespace_configuration_can_exclude()
    {
        Assert.That(WovenAssemblies.Sites(WovenAssemblies.Get(Build.Debug)).Select(s => s.Method),
            Has.Some.EqualTo("AssemblyToProcess.Excluded.Deeper.ExcludedShapes.MethodAsync"));
    }

    /// <summary>The xcf Fody turns into each project's FodyWeavers.xsd, and the root copy, say the same.</summary>
    [Test]
    public void The_root_schema_documents_exactly_what_the_xcf_declares()
    {
        XNamespace xs = "http://www.w3.org/2001/XMLSchema";
        XElement xcf = XElement.Load(Path.Combine(RepositoryRoot(), "weaver", "TaskLeak.Fody", "TaskLeak.Fody.xcf"));
        XElement element = XDocument.Load(Path.Combine(RepositoryRoot(), "FodyWeavers.xsd")).Descendants(xs + "element")
            .Single(e => (string?)e.Attribute("name") == "TaskLeak");
        XElement fromSchema = element.Element(xs + "complexType")!;

        Assert.That(Normalize(fromSchema), Is.EqualTo(Normalize(xcf)));
        string[] documented = xcf.Elements(xs + "attribute").Select(a => (string)a.Attribute("name")!).ToArray();
        Assert.That(documented, Is.EquivalentTo(new[] { "ExcludeNamespaces", "TrackSpawnSites" }), "every attribute the weaver reads is documented");
    }

    internal static string Summary(TestResult result) =>
        result.Messages.Select(m => m.Text).Single(m => m.StartsWith("TaskLeak: ", StringComparison.Ordinal));

    internal static int ExcludedCount(string summary)
    {
        int end = summary.IndexOf(" excluded", StringComparison.Ordinal);
        if (end < 0)
        {
            return 0;
        }

        int start = summary.LastIndexOf(' ', end - 1) + 1;
        return int.Parse(summary.Substring(start, end - start), System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static void AssertNotReported(Assembly assembly, string type, string method)
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        StartAndDrop(assembly, type, method);
        Assert.That(TaskLeakDetector.DetectNow().Leaks, Is.Empty, type + "." + method + " must not be woven");
    }

    internal static void AssertReported(Assembly assembly, string type, string method)
    {
        TaskLeakDetector.DetectNow();
        TaskLeakDetector.Reset();
        StartAndDrop(assembly, type, method);
        Assert.That(TaskLeakDetector.DetectNow().Leaks.Select(l => l.Method), Is.EqualTo(new[] { "AssemblyToProcess." + type + "." + method }));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartAndDrop(Assembly assembly, string type, string method) =>
        WovenAssemblies.Call(assembly, type, method, new TaskCompletionSource<int>().Task);

    /// <summary>Elements, attributes and text, without namespace declarations, comments or indentation.</summary>
    private static string Normalize(XElement element) => Strip(element).ToString(SaveOptions.DisableFormatting);

    private static XElement Strip(XElement element) =>
        new(element.Name,
            element.Attributes().Where(a => !a.IsNamespaceDeclaration),
            element.Nodes().Select(n => n switch
            {
                XElement child => Strip(child),
                XText text when !string.IsNullOrWhiteSpace(text.Value) => new XText(text.Value.Trim()),
                _ => (XNode?)null,
            }).Where(n => n is not null));

    private static string RepositoryRoot([CallerFilePath] string here = "") => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", ".."));
}
