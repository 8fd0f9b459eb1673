using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using NUnit.Framework;
using TaskLeak.CompilerServices;
using TaskLeak.Detection;
using TaskLeak.Tracking;

namespace TaskLeak.Tests;

/// <summary>
/// The registry under contention: 8 threads × 1M register/release while another thread sweeps in a loop. An exact
/// number of dropped frames is planted, each at its own site: each must be reported exactly once, nothing else ever.
/// </summary>
[NonParallelizable] // Measures the process heap (GC.GetTotalMemory) and needs the cores: parallel tests would skew both.
public class RegistryStressTests : DetectorTest
{
    private const int Threads = 8;
    private const int OperationsPerThread = 1_000_000;
    private const int PlantedPerThread = 100;
    private const int HeldPerThread = 16;

    [Test]
    public void Eight_threads_of_a_million_operations_with_concurrent_sweeps_report_exactly_the_planted_leaks()
    {
        int live = TestSites.Register(D, "StressLive", 2);
        int held = TestSites.Register(D, "StressHeld", 1);
        int planted = TestSites.Register(D, "StressPlanted", Threads * PlantedPerThread);
        D.DetectNow();
        D.Reset();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        int capacityBefore = D.Registry.Capacity;
        int errorsBefore = D.InternalErrors;

        var reported = new Dictionary<int, int>();
        var foreign = new List<string>();
        var plantedMethods = new HashSet<string>(Enumerable.Range(0, Threads * PlantedPerThread).Select(i => TestSites.Method("StressPlanted", i)));
        EventHandler<TaskLeakDetectedEventArgs> handler = (_, e) =>
        {
            lock (reported)
            {
                foreach (TaskLeakGroup group in e.Leaks)
                {
                    if (!plantedMethods.Contains(group.Method))
                    {
                        foreign.Add(group.ToString());
                        continue;
                    }

                    int row = int.Parse(group.Method.Substring("Tests.StressPlanted".Length, group.Method.Length - "Tests.StressPlanted".Length - ".Run".Length),
                        System.Globalization.CultureInfo.InvariantCulture);
                    reported[row] = (reported.TryGetValue(row, out int n) ? n : 0) + group.Count;
                }
            }
        };

        D.LeakDetected += handler;
        int sweeps = 0;
        try
        {
            using var done = new CountdownEvent(Threads);
            var heldFrames = new object[Threads][];
            var heldOperations = new int[Threads][];
            var workers = new Thread[Threads];
            for (int t = 0; t < Threads; t++)
            {
                int thread = t;
                workers[t] = new Thread(() =>
                {
                    heldFrames[thread] = new object[HeldPerThread];
                    heldOperations[thread] = new int[HeldPerThread];
                    for (int h = 0; h < HeldPerThread; h++)
                    {
                        heldFrames[thread][h] = new object();
                        H.SuspendFrame(ref heldOperations[thread][h], held, new FakeSourceTask(), heldFrames[thread][h]);
                    }

                    Work(thread, live, planted);
                    done.Signal();
                });
            }

            var sweeper = new Thread(() =>
            {
                while (!done.IsSet)
                {
                    D.SweepNow();
                    sweeps++;
                    if (sweeps % 16 == 0)
                    {
                        GC.Collect(0);
                    }
                }
            });

            foreach (Thread worker in workers)
            {
                worker.Start();
            }

            sweeper.Start();
            foreach (Thread worker in workers)
            {
                worker.Join();
            }

            sweeper.Join();
            TaskLeakReport report = D.DetectNow();

            Assert.That(D.InternalErrors, Is.EqualTo(errorsBefore));
            Assert.That(sweeps, Is.GreaterThan(1), "sweeps ran concurrently with the workers");
            lock (reported)
            {
                Assert.That(foreign, Is.Empty, "no live or held operation is ever reported");
                Assert.That(reported.Count, Is.EqualTo(Threads * PlantedPerThread), "no planted leak is lost");
                Assert.That(reported.Values.Distinct(), Is.EqualTo(new[] { 1 }), "each planted leak is reported exactly once");
            }

            Assert.That(report.TotalCount, Is.EqualTo(Threads * PlantedPerThread));
            Assert.That(report.Leaks.All(g => g.Count == 1 && plantedMethods.Contains(g.Method)));
            Assert.That(D.PendingCount, Is.EqualTo(Threads * HeldPerThread), "held operations stay tracked");

            for (int t = 0; t < Threads; t++)
            {
                for (int h = 0; h < HeldPerThread; h++)
                {
                    H.Complete(ref heldOperations[t][h]);
                }
            }

            GC.KeepAlive(heldFrames);
            Assert.That(D.PendingCount, Is.Zero);
            Assert.That(D.Registry.Capacity - capacityBefore, Is.LessThan(16_384), "slots recycle under contention");
        }
        finally
        {
            D.LeakDetected -= handler;
        }

        D.Reset();
        long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        Assert.That(heapAfter - heapBefore, Is.LessThan(8L << 20), "memory back to baseline");
    }

    /// <summary>
    /// The box strategy's race for real: the first continuation resumes and completes the operation on another thread
    /// while the suspending thread attaches the box, with varying overlap, under concurrent sweeps and GCs. Nothing may be
    /// reported but the planted leaks, every slot must come back, and the race must actually have been run.
    /// </summary>
    [Test]
    public void Completions_racing_Attach_on_another_thread_free_every_slot_and_never_report()
    {
        int pairs = Math.Max(1, Environment.ProcessorCount / 2);
        const int Handoffs = 100_000;
        const int PlantedPerPair = 50;
        int live = TestSites.Register(D, "RaceLive", 1);
        int planted = TestSites.Register(D, "RacePlanted", pairs * PlantedPerPair);
        D.DetectNow();
        D.Reset();
        int capacityBefore = D.Registry.Capacity;
        int errorsBefore = D.InternalErrors;
        long racedBefore = D.Registry.RacedAttaches;
        var plantedMethods = new HashSet<string>(Enumerable.Range(0, pairs * PlantedPerPair).Select(i => TestSites.Method("RacePlanted", i)));
        var started = System.Diagnostics.Stopwatch.StartNew();

        var mailboxes = new int[pairs * 16];
        var threads = new List<Thread>();
        using var done = new CountdownEvent(pairs);
        for (int p = 0; p < pairs; p++)
        {
            int pair = p;
            threads.Add(new Thread(() =>
            {
                ref int mailbox = ref mailboxes[pair * 16];
                for (int n = 0; n < Handoffs; n++)
                {
                    if (n % (Handoffs / PlantedPerPair) == 7)
                    {
                        DropBox(planted + (pair * PlantedPerPair) + (n / (Handoffs / PlantedPerPair)));
                    }

                    var box = new object();
                    int operation = 0;
                    int first = H.Suspend(ref operation, live, null);
                    Volatile.Write(ref mailbox, first);
                    Thread.SpinWait(n & 15);
                    H.Attach(first, box);
                    var wait = new SpinWait();
                    while (Volatile.Read(ref mailbox) != 0)
                    {
                        wait.SpinOnce(sleep1Threshold: -1);
                    }

                    GC.KeepAlive(box);
                }

                Volatile.Write(ref mailbox, -1);
                done.Signal();
            }));
            threads.Add(new Thread(() =>
            {
                ref int mailbox = ref mailboxes[pair * 16];
                int n = 0;
                while (true)
                {
                    int operation;
                    var wait = new SpinWait();
                    while ((operation = Volatile.Read(ref mailbox)) == 0)
                    {
                        wait.SpinOnce(sleep1Threshold: -1);
                    }

                    if (operation < 0)
                    {
                        return;
                    }

                    Thread.SpinWait((n++ * 7) & 15);
                    H.Complete(ref operation);
                    Volatile.Write(ref mailbox, 0);
                }
            }));
        }

        int sweeps = 0;
        threads.Add(new Thread(() =>
        {
            while (!done.Wait(1))
            {
                D.SweepNow();
                if (++sweeps % 8 == 0)
                {
                    GC.Collect(0);
                }
            }
        }));

        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        TaskLeakReport report = D.DetectNow();
        TestContext.Progress.WriteLine($"{pairs} pairs x {Handoffs} handoffs in {started.Elapsed.TotalSeconds:F1} s: " +
            $"{D.Registry.RacedAttaches - racedBefore} completions raced their Attach, {sweeps} sweeps");

        Assert.That(D.InternalErrors, Is.EqualTo(errorsBefore));
        Assert.That(D.Registry.RacedAttaches - racedBefore, Is.Positive, "some completions really ran before their Attach, on the other thread");
        Assert.That(sweeps, Is.GreaterThan(1), "sweeps ran concurrently");
        Assert.That(report.Leaks.Select(g => g.Method), Is.EquivalentTo(plantedMethods), "exactly the planted leaks, each once");
        Assert.That(report.Leaks.All(g => g.Count == 1));
        Assert.That(D.PendingCount, Is.Zero, "every raced slot was freed by one side");
        Assert.That(D.Registry.Capacity - capacityBefore, Is.LessThan(4_096), "slots recycle");
        D.Reset();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DropBox(int site) => TestSites.SuspendBox(D, site, null, out _);

    private void Work(int thread, int live, int planted)
    {
        int plantEvery = OperationsPerThread / PlantedPerThread;
        for (int i = 0; i < OperationsPerThread; i++)
        {
            if (i % plantEvery == plantEvery / 2)
            {
                TestSites.DropFrame(D, planted + (thread * PlantedPerThread) + (i / plantEvery));
                continue;
            }

            var proof = new object();
            int operation = 0;
            switch (i & 3)
            {
                case 0:
                    // Box strategy, completion racing ahead of Attach (the continuation ran on another thread first).
                    int early = H.Suspend(ref operation, live, null);
                    H.Complete(ref operation);
                    H.Attach(early, proof);
                    break;
                case 1:
                    int first = H.Suspend(ref operation, live, null);
                    H.Attach(first, proof);
                    H.Suspend(ref operation, live + 1, proof);
                    H.Complete(ref operation);
                    break;
                default:
                    H.SuspendFrame(ref operation, live, null, proof);
                    H.SuspendFrame(ref operation, live + 1, null, proof);
                    H.Complete(ref operation);
                    break;
            }

            GC.KeepAlive(proof);
        }
    }
}
