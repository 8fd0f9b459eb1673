using System.Collections.Generic;
using System.Linq;
using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;

namespace TaskLeak.Fody;

/// <summary>How an operation's liveness is proven, chosen per state machine.</summary>
internal enum ProofStrategy
{
    /// <summary>Task builders: the builder's Task is the state-machine box; attached after the first schedule.</summary>
    Box,

    /// <summary>Class state machines of other builders: the state machine object is the frame.</summary>
    Frame,

    /// <summary>Struct state machines of other builders: a token object only the frame references.</summary>
    Token,
}

public partial class ModuleWeaver
{
    internal const string OperationFieldName = "<>tl__operation";
    internal const string TokenFieldName = "<>tl__token";
    private const string BuilderFieldName = "<>t__builder";
    private const string PromiseFieldName = "<>v__promiseOfValueOrEnd";

    /// <summary>
    /// Weaves one state machine: every await that suspends registers the operation (first time) or moves it to the
    /// new site; every completion (and every yield of an async iterator) releases it. The method is analysed in
    /// full before anything changes: a shape we do not understand leaves it untouched, with a warning.
    /// </summary>
    private void WeaveStateMachine(AsyncMethod method, HookReferences hooks, SiteTable sites, WeaveSummary summary)
    {
        StateMachinePlan? plan = Analyse(method.MoveNext, method.Kickoff, summary, () => PlanStateMachine(method, summary));
        if (plan is null)
        {
            return;
        }

        Rewrite(method.MoveNext, method.Kickoff, () => RewriteStateMachine(plan, hooks, sites));
        summary.AsyncMethods++;
        summary.AwaitSites += plan.Awaits.Count;
    }

    /// <summary>What to insert into one state machine; null (with a warning when it is a shape we do not know) to leave it.</summary>
    private StateMachinePlan? PlanStateMachine(AsyncMethod method, WeaveSummary summary)
    {
        TypeDefinition stateMachine = method.StateMachine;
        MethodBody body = method.MoveNext.Body;
        FieldDefinition? builder = stateMachine.Fields.FirstOrDefault(f => f.Name == BuilderFieldName);
        FieldDefinition? promise = method.IsIterator ? stateMachine.Fields.FirstOrDefault(f => f.Name == PromiseFieldName) : null;
        if (builder is null || (method.IsIterator && promise is null))
        {
            return Skip(method, summary, "its state machine has no builder field the weaver recognises");
        }

        if (stateMachine.Fields.Any(f => f.Name == OperationFieldName))
        {
            return null;
        }

        var describer = new SiteDescriber(method.MoveNext, method.Kickoff, method.Shape);
        IlStack stack = describer.Stack;
        var awaits = new List<AwaitSite>();
        var completions = new List<Instruction>();
        foreach (Instruction instruction in body.Instructions)
        {
            if (instruction.OpCode.Code is not (Code.Call or Code.Callvirt) || instruction.Operand is not MethodReference callee)
            {
                continue;
            }

            switch (callee.Name)
            {
                case "AwaitUnsafeOnCompleted":
                case "AwaitOnCompleted":
                    Instruction? builderLoad = stack.FindProducer(instruction, 0);
                    if (builderLoad is null || !LoadsField(builderLoad, builder))
                    {
                        return Skip(method, summary, $"the await at IL_{instruction.Offset:x4} does not go through the state machine's builder");
                    }

                    awaits.Add(DescribeAwait(describer, instruction, builderLoad));
                    break;
                case "SetResult":
                case "SetException":
                    Instruction? receiver = stack.FindProducer(instruction, 0);
                    if (LoadsField(receiver, builder) || (promise is not null && LoadsField(receiver, promise)))
                    {
                        completions.Add(instruction);
                    }

                    break;
            }
        }

        if (awaits.Count == 0)
        {
            return null;
        }

        if (completions.Count == 0)
        {
            return Skip(method, summary, "no completion (SetResult/SetException) was found in its state machine");
        }

        ProofStrategy strategy = ChooseStrategy(stateMachine, builder);
        MethodReference? taskGetter = strategy == ProofStrategy.Box ? BuilderTaskGetter(builder.FieldType) : null;
        if (strategy == ProofStrategy.Box && taskGetter is null)
        {
            strategy = stateMachine.IsValueType ? ProofStrategy.Token : ProofStrategy.Frame;
        }

        return new StateMachinePlan(method, awaits, completions, strategy, taskGetter);
    }

    /// <summary>The await's row from the shared describer, and where this path copies the awaited object (state machines only).</summary>
    private static AwaitSite DescribeAwait(SiteDescriber describer, Instruction awaitCall, Instruction builderLoad)
    {
        string? fallback = awaitCall.Operand is GenericInstanceMethod { GenericArguments.Count: > 0 } generic
            ? CSharpNames.Type(generic.GenericArguments[0])
            : null;
        AwaitDescription description = describer.Await(awaitCall, awaiterArgument: 1, fallback);
        Instruction? capture = null;
        bool captureAfter = false;
        if (description.GetAwaiter is not null)
        {
            capture = describer.CapturePoint(description.GetAwaiter, description.Awaitable, out captureAfter);
            if (capture is not null && !describer.Stack.IsStraight(capture, awaitCall))
            {
                capture = null;
            }
        }

        return new AwaitSite(awaitCall, builderLoad, description.Row, capture, captureAfter);
    }

    private void RewriteStateMachine(StateMachinePlan plan, HookReferences hooks, SiteTable sites)
    {
        TypeDefinition stateMachine = plan.Method.StateMachine;
        MethodBody body = plan.Method.MoveNext.Body;
        List<AwaitSite> awaits = plan.Awaits;
        ProofStrategy strategy = plan.Strategy;
        MethodReference? taskGetter = plan.TaskGetter;
        body.SimplifyMacros();
        var operationField = new FieldDefinition(OperationFieldName, FieldAttributes.Public, hooks.Int32);
        stateMachine.Fields.Add(operationField);
        FieldReference operation = IlEditing.SelfReference(operationField, stateMachine);
        FieldReference? token = null;
        if (strategy == ProofStrategy.Token)
        {
            var tokenField = new FieldDefinition(TokenFieldName, FieldAttributes.Public, hooks.Object);
            stateMachine.Fields.Add(tokenField);
            token = IlEditing.SelfReference(tokenField, stateMachine);
        }

        VariableDefinition? awaited = null;
        if (awaits.Any(a => a.Capture is not null))
        {
            awaited = new VariableDefinition(hooks.Object);
            body.Variables.Add(awaited);
        }

        VariableDefinition? first = null;
        if (strategy == ProofStrategy.Box)
        {
            first = new VariableDefinition(hooks.Int32);
            body.Variables.Add(first);
        }

        foreach (AwaitSite site in awaits)
        {
            Instruction[] siteId = sites.Add(site.Row);
            if (site.Capture is not null)
            {
                var copy = new[] { Instruction.Create(OpCodes.Dup), Instruction.Create(OpCodes.Stloc, awaited) };
                if (site.CaptureAfter)
                {
                    IlEditing.InsertAfter(body, site.Capture, copy);
                }
                else
                {
                    IlEditing.InsertBefore(body, site.Capture, copy);
                }
            }

            Instruction loadAwaited = site.Capture is not null ? Instruction.Create(OpCodes.Ldloc, awaited) : Instruction.Create(OpCodes.Ldnull);
            var before = new List<Instruction>();
            switch (strategy)
            {
                case ProofStrategy.Box:
                    before.Add(Instruction.Create(OpCodes.Ldarg_0));
                    before.Add(Instruction.Create(OpCodes.Ldflda, operation));
                    before.AddRange(siteId);
                    before.Add(loadAwaited);
                    before.Add(Instruction.Create(OpCodes.Call, hooks.Suspend));
                    before.Add(Instruction.Create(OpCodes.Stloc, first));
                    break;
                case ProofStrategy.Frame:
                    before.Add(Instruction.Create(OpCodes.Ldarg_0));
                    before.Add(Instruction.Create(OpCodes.Ldflda, operation));
                    before.AddRange(siteId);
                    before.Add(loadAwaited);
                    before.Add(Instruction.Create(OpCodes.Ldarg_0));
                    before.Add(Instruction.Create(OpCodes.Call, hooks.SuspendFrame));
                    break;
                default:
                    before.Add(Instruction.Create(OpCodes.Ldarg_0));
                    before.Add(Instruction.Create(OpCodes.Ldflda, operation));
                    before.Add(Instruction.Create(OpCodes.Ldarg_0));
                    before.Add(Instruction.Create(OpCodes.Ldflda, token));
                    before.AddRange(siteId);
                    before.Add(loadAwaited);
                    before.Add(Instruction.Create(OpCodes.Call, hooks.SuspendWithToken));
                    break;
            }

            IlEditing.InsertBefore(body, site.AwaitCall, before);
            if (strategy == ProofStrategy.Box)
            {
                // After the builder scheduled the continuation: only now does the box exist (first suspension only).
                Instruction next = site.AwaitCall.Next;
                IlEditing.InsertAfter(body, site.AwaitCall, new[]
                {
                    Instruction.Create(OpCodes.Ldloc, first),
                    Instruction.Create(OpCodes.Brfalse, next),
                    Instruction.Create(OpCodes.Ldloc, first),
                    Instruction.Create(OpCodes.Ldarg_0),
                    Instruction.Create(OpCodes.Ldflda, (FieldReference)site.BuilderLoad.Operand),
                    Instruction.Create(OpCodes.Call, taskGetter),
                    Instruction.Create(OpCodes.Call, hooks.Attach),
                });
            }
        }

        WeaveCausalContext(body, hooks, operation, plan.Completions);
        body.OptimizeMacros();
    }

    private static ProofStrategy ChooseStrategy(TypeDefinition stateMachine, FieldDefinition builder)
    {
        string builderName = builder.FieldType.GetElementType().FullName;
        if (builderName is "System.Runtime.CompilerServices.AsyncTaskMethodBuilder" or "System.Runtime.CompilerServices.AsyncTaskMethodBuilder`1")
        {
            return ProofStrategy.Box;
        }

        return stateMachine.IsValueType ? ProofStrategy.Token : ProofStrategy.Frame;
    }

    /// <summary><c>builder.Task</c> on the builder field's exact (possibly generic) type.</summary>
    private MethodReference? BuilderTaskGetter(TypeReference builderType)
    {
        TypeDefinition? definition = builderType.Resolve();
        MethodDefinition? getter = definition?.Properties.FirstOrDefault(p => p.Name == "Task")?.GetMethod;
        if (getter is null)
        {
            return null;
        }

        MethodReference imported = ModuleDefinition.ImportReference(getter);
        if (builderType is not GenericInstanceType instance)
        {
            return imported;
        }

        return new MethodReference(imported.Name, imported.ReturnType, instance) { HasThis = true };
    }

    /// <summary>A load of the builder field: its address for a struct builder, the reference itself for a class builder.</summary>
    private static bool LoadsField(Instruction? instruction, FieldDefinition field) =>
        instruction?.OpCode.Code is Code.Ldflda or Code.Ldfld &&
        instruction.Operand is FieldReference reference &&
        reference.Name == field.Name &&
        reference.DeclaringType.GetElementType().FullName == field.DeclaringType.FullName;

    private StateMachinePlan? Skip(AsyncMethod method, WeaveSummary summary, string reason)
    {
        WarnSkipped(Codes.StateMachineSkipped, method.DisplayName, method.Kickoff, method.MoveNext, reason, summary);
        return null;
    }
}

/// <summary>Everything <c>RewriteStateMachine</c> inserts, decided before the first change.</summary>
internal sealed class StateMachinePlan
{
    public StateMachinePlan(AsyncMethod method, List<AwaitSite> awaits, List<Instruction> completions, ProofStrategy strategy, MethodReference? taskGetter)
    {
        Method = method;
        Awaits = awaits;
        Completions = completions;
        Strategy = strategy;
        TaskGetter = taskGetter;
    }

    public AsyncMethod Method { get; }

    public List<AwaitSite> Awaits { get; }

    public List<Instruction> Completions { get; }

    public ProofStrategy Strategy { get; }

    public MethodReference? TaskGetter { get; }
}

/// <summary>An await in a MoveNext: the builder call that suspends, and what a report will say about it.</summary>
internal sealed class AwaitSite
{
    public AwaitSite(Instruction awaitCall, Instruction builderLoad, SiteRow row, Instruction? capture, bool captureAfter)
    {
        AwaitCall = awaitCall;
        BuilderLoad = builderLoad;
        Row = row;
        Capture = capture;
        CaptureAfter = captureAfter;
    }

    /// <summary><c>builder.AwaitUnsafeOnCompleted(ref awaiter, ref this)</c> (or AwaitOnCompleted).</summary>
    public Instruction AwaitCall { get; }

    /// <summary>The <c>ldflda</c> (or <c>ldfld</c>, for a class builder) of <c>&lt;&gt;t__builder</c> for the await call.</summary>
    public Instruction BuilderLoad { get; }

    public SiteRow Row { get; }

    /// <summary>
    /// When set, the awaited object is on top of the stack just before this instruction (or, with
    /// <see cref="CaptureAfter"/>, just after it), and control flows straight from there to the await call.
    /// </summary>
    public Instruction? Capture { get; }

    public bool CaptureAfter { get; }
}
