using System;
using System.Runtime.CompilerServices;
using NUnit.Framework;
using TaskLeak.CompilerServices;
using TaskLeak.Detection;
using TaskLeak.Tracking;

namespace TaskLeak.Tests;

/// <summary>A million leaked operations leave the registry, the ledger and the heap bounded.</summary>
[NonParallelizable] // Measures the process heap (GC.GetTotalMemory): other tests' allocations would count against it.
public class BoundedMemoryTests : DetectorTest
{
    private const int Leaks = 1_000_000;
    private const int Batch = 10_000;
    private const int DistinctSites = LeakLedger.MaxSites + 904;

    [Test]
    public void A_million_leaks_at_more_sites_than_the_cap_leave_memory_bounded()
    {
        int first = TestSites.Register(D, "Bounded", DistinctSites);
        TaskLeakOptions saved = D.Options;
        D.Configure(o => o.CreationStacks = CreationStackMode.None);
        try
        {
            D.DetectNow();
            D.Reset();
            long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            int capacityBefore = D.Registry.Capacity;

            for (int done = 0; done < Leaks; done += Batch)
            {
                LeakBatch(first, done);
                // What the background sweeper does after each collection, done here deterministically.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                D.SweepNow();
            }

            TaskLeakReport report = D.DetectNow();
            (int sites, int remembered) = D.Ledger.Size;
            Assert.That(report.TotalCount, Is.EqualTo(Leaks), "every leak is counted once, overflow included");
            Assert.That(report.OverflowCount, Is.GreaterThan(0));
            Assert.That(sites, Is.LessThanOrEqualTo(LeakLedger.MaxSites + 1), "distinct groups are capped (plus the overflow group)");
            Assert.That(remembered, Is.LessThanOrEqualTo(2 * LeakLedger.MaxRecent));
            Assert.That(D.Registry.Capacity - capacityBefore, Is.LessThan(2 * Batch), "slots are recycled, not one per leak");
            Assert.That(D.PendingCount, Is.Zero);

            report = null!;
            long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
            Assert.That(heapAfter - heapBefore, Is.LessThan(48L << 20), "the ledger keeps aggregates, not operations");

            D.Reset();
            long heapReset = GC.GetTotalMemory(forceFullCollection: true);
            Assert.That(heapReset - heapBefore, Is.LessThan(8L << 20), "Reset gives the history back");
        }
        finally
        {
            D.Configure(o => o.CreationStacks = saved.CreationStacks);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LeakBatch(int firstSite, int offset)
    {
        for (int i = 0; i < Batch; i++)
        {
            int operation = 0;
            H.SuspendFrame(ref operation, firstSite + ((offset + i) % DistinctSites), null, new object());
        }
    }
}
