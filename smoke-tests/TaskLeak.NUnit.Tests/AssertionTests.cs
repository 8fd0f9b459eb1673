using System;
using System.IO;
using System.Runtime.CompilerServices;
using NUnit.Framework;

namespace TaskLeak.NUnit.Tests;

/// <summary>TaskLeakAssert and the scope API called directly, outside any [DetectTaskLeaks].</summary>
[NonParallelizable]
public class AssertionTests
{
    [Test]
    public void Asserting_for_the_current_test_without_the_attribute_says_what_is_missing()
    {
        var error = Assert.Throws<InvalidOperationException>(() => TaskLeakAssert.NoLeaks());
        Assert.That(error!.Message, Does.Contain("[DetectTaskLeaks]").And.Contain("pass the TaskLeakScope"));
        Assert.Throws<InvalidOperationException>(() => TaskLeakAssert.NoPendingOperations());
    }

    [Test]
    public void An_explicit_scope_is_checked_with_exact_and_file_wide_site_ignores()
    {
        using TaskLeakScope scope = TaskLeakScope.Begin("explicit");
        LocalOperations.DropScoped();
        scope.Dispose();
        const int line = LocalOperations.AwaitLine;

        var failure = Assert.Throws<AssertionException>(() => TaskLeakAssert.NoLeaks(scope));
        Assert.That(failure!.Message, Does.StartWith("TaskLeak: 1 async operation started in scope 'explicit' leaked"));
        Assert.That(failure.Message, Does.Contain("1 \u00d7 TaskLeak.NUnit.Tests.LocalOperations.ScopedAsync at LocalOperations.cs:" + line));
        Assert.That(failure.Message, Does.Contain("at TaskLeak.NUnit.Tests.LocalOperations.DropScoped()"));

        Assert.DoesNotThrow(() => TaskLeakAssert.NoLeaks(scope, Ignoring(sites: "LocalOperations.cs:" + line)));
        Assert.DoesNotThrow(() => TaskLeakAssert.NoLeaks(scope, Ignoring(sites: "LocalOperations.cs")));
        Assert.DoesNotThrow(() => TaskLeakAssert.NoLeaks(scope, Ignoring(methods: "TaskLeak.NUnit.Tests.LocalOperations.*")));
        Assert.Throws<AssertionException>(() => TaskLeakAssert.NoLeaks(scope, Ignoring(sites: "LocalOperations.cs:" + (line / 10))),
            "a site pattern names a whole line number, not a prefix of one");
        Assert.Throws<AssertionException>(() => TaskLeakAssert.NoLeaks(scope, Ignoring(sites: "LocalOperations")));
        Assert.Throws<AssertionException>(() => TaskLeakAssert.NoLeaks(scope, Ignoring(methods: "TaskLeak.NUnit.Tests.LocalOperations.Scoped")),
            "without a trailing * a method pattern is exact");
    }

    [Test]
    public void A_scope_sweeps_with_the_number_of_collections_asked_for()
    {
        using TaskLeakScope scope = TaskLeakScope.Begin("collections");
        LocalOperations.DropScoped();
        scope.Dispose();

        Assert.That(scope.PendingCount, Is.EqualTo(1), "suspended, not yet collected");
        TaskLeakReport report = scope.DetectNow(1);

        Assert.That(report.TotalCount, Is.EqualTo(1), "one collection reclaims a frame nothing references");
        Assert.That(scope.PendingCount, Is.Zero);
        Assert.That(scope.DetectNow(0).TotalCount, Is.EqualTo(1), "a sweep without collections keeps what was proven");
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.DetectNow(-1));
    }

    [Test]
    public void The_await_line_constant_matches_the_source() =>
        Assert.That(File.ReadAllLines(SourceOf("LocalOperations.cs"))[LocalOperations.AwaitLine - 1], Does.Contain("await source.Task"));

    [Test]
    public void Options_reject_negative_values()
    {
        var options = new TaskLeakAssertOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Collections = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.StalledAfter = TimeSpan.FromMilliseconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.PendingTimeout = TimeSpan.FromMilliseconds(-1));
        Assert.That(options.Collections, Is.EqualTo(3));
        Assert.That(options.Attribution, Is.EqualTo(TaskLeakAttribution.Test));
        Assert.That(options.Action, Is.EqualTo(TaskLeakAction.Fail));
    }

    private static TaskLeakAssertOptions Ignoring(string? sites = null, string? methods = null)
    {
        var options = new TaskLeakAssertOptions();
        if (sites is not null)
        {
            options.IgnoredSites.Add(sites);
        }

        if (methods is not null)
        {
            options.IgnoredMethods.Add(methods);
        }

        return options;
    }

    private static string SourceOf(string file, [CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, file);
}
