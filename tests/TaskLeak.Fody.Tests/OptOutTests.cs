using System.Linq;
using Fody;
using Mono.Cecil;
using NUnit.Framework;

namespace TaskLeak.Fody.Tests;

/// <summary>[TaskLeak.DoNotTrack] on a method, a type (and its nested types) or the assembly; lambdas and local functions follow their containing method.</summary>
[TestFixture(Build.Debug)]
[TestFixture(Build.Release)]
[NonParallelizable]
public class OptOutTests(Build build)
{
    [TestCase("OptOut", "OptedOutAsync")]
    [TestCase("OptOut", "OptedOutLambda")]
    [TestCase("OptOut", "OptedOutLocalFunction")]
    [TestCase("OptedOutType", "MethodAsync")]
    [TestCase("OptedOutType", "Lambda")]
    [TestCase("OptedOutType", "Nested")]
    public void An_opted_out_method_is_left_untouched(string type, string method)
    {
        ConfigurationTests.AssertNotReported(WovenAssemblies.Assembly(build), type, method);
    }

    [Test]
    public void The_tracked_control_next_to_them_is_woven()
    {
        ConfigurationTests.AssertReported(WovenAssemblies.Assembly(build), "OptOut", "TrackedAsync");
    }

    [Test]
    public void The_summary_counts_every_opted_out_state_machine()
    {
        // OptedOutAsync, the lambda, the local function; the type's method, lambda and nested type's method;
        // and SpawnSites.cs's [DoNotTrack] spawner.
        Assert.That(ConfigurationTests.ExcludedCount(ConfigurationTests.Summary(WovenAssemblies.Get(build))), Is.EqualTo(7));
        Assert.That(WovenAssemblies.Sites(WovenAssemblies.Get(build)).Select(s => s.Method), Has.None.Contain("OptedOut"));
    }

    [Test]
    public void An_opted_out_assembly_is_left_untouched()
    {
        TestResult result = WovenAssemblies.Weave(build, "OptedOutAssembly", before: module =>
        {
            TypeDefinition attribute = module.GetType("TaskLeak.DoNotTrackAttribute")
                ?? module.AssemblyResolver.Resolve(module.AssemblyReferences.Single(r => r.Name == "TaskLeak")).MainModule.GetType("TaskLeak.DoNotTrackAttribute");
            module.Assembly.CustomAttributes.Add(new CustomAttribute(module.ImportReference(attribute.Methods.Single(m => m.IsConstructor))));
        });

        Assert.That(ConfigurationTests.Summary(result), Does.Match("^TaskLeak: [^:]+: 0 async methods, 0 await sites, 0 spawn sites woven; 0 skipped; "));
        Assert.That(result.Warnings, Is.Empty);
        Assert.That(WovenAssemblies.Sites(result), Is.Empty);
        ConfigurationTests.AssertNotReported(result.Assembly, "OptOut", "TrackedAsync");
    }
}
