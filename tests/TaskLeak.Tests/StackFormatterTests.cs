using NUnit.Framework;
using TaskLeak.Reporting;

namespace TaskLeak.Tests;

public class StackFormatterTests
{
    [Test]
    public void Hooks_plumbing_and_the_kickoff_stub_below_its_MoveNext_are_dropped()
    {
        const string raw =
            "   at TaskLeak.Tracking.OperationTracker.Begin(Int32 site, Object awaited, Object proof)\n" +
            "   at TaskLeak.CompilerServices.TaskLeakHooks.Suspend(Int32& operation, Int32 site, Object awaited)\n" +
            "   at App.Program.WaitAsync(TaskCompletionSource`1 source) in /src/Program.cs:line 38\n" +
            "   at System.Runtime.CompilerServices.AsyncMethodBuilderCore.Start[TStateMachine](TStateMachine& stateMachine)\n" +
            "   at App.Program.WaitAsync(TaskCompletionSource`1 source)\n" +
            "   at App.Program.Start() in /src/Program.cs:line 32\n" +
            "   at Host.Entry.Main()\n";

        Assert.That(StackFormatter.Format(raw), Is.EqualTo(
            "   at App.Program.WaitAsync(TaskCompletionSource`1 source) in /src/Program.cs:line 38\n" +
            "   at App.Program.Start() in /src/Program.cs:line 32\n" +
            "   at Host.Entry.Main()"),
            "only a line-less frame right below the same method is a stub; frames without symbols stay");
    }
}
