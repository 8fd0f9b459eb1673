using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace TaskLeak.Diagnostics;

/// <summary>
/// Takes what sweeps found and hands it to the sinks outside every lock that sweeps and hooks need. One thread
/// publishes at a time (sinks see findings in order); what sweeps find while a sink is slow waits in an outbox that
/// merges by site (a group's counts add up, a tier's latest finding wins), so it stays as small as the number of sites
/// however long a sink blocks, and sweeps never wait for it.
/// </summary>
/// <remarks>
/// <see cref="Flush"/> returns once every finding enqueued before it was handed to every sink — except on the thread
/// that is publishing (a sink calling <c>DetectNow</c> from inside): it returns at once there, and what that call found
/// is published right after the sink returns.
/// </remarks>
internal sealed class Publisher
{
    private readonly object _gate = new();
    private readonly LeakSinks _sinks;
    private Outbox _outbox = new();
    private long _enqueued;
    private long _published;
    private long _reentrantTarget;
    private int _publishingThread;

    internal Publisher(LeakSinks sinks) => _sinks = sinks;

    /// <summary>Findings waiting for a sink (distinct sites): bounded by the sites, not by the sweeps.</summary>
    internal int Queued
    {
        get
        {
            lock (_gate)
            {
                return _outbox.Size;
            }
        }
    }

    /// <summary>Merges one sweep's findings into the outbox; returns the sequence number that covers them.</summary>
    internal long Enqueue(IReadOnlyList<TaskLeakGroup> leaks, IReadOnlyList<StalledOperationGroup> stalled, IReadOnlyList<GrowingSite> growing)
    {
        lock (_gate)
        {
            if (leaks.Count + stalled.Count + growing.Count == 0)
            {
                return _enqueued;
            }

            _outbox.Merge(leaks, stalled, growing);
            return ++_enqueued;
        }
    }

    /// <summary>Publishes (on this thread, or by waiting for the thread that is) until everything up to <paramref name="target"/> was published.</summary>
    internal void Flush(long target)
    {
        int self = Environment.CurrentManagedThreadId;
        while (true)
        {
            Outbox batch;
            long upTo;
            lock (_gate)
            {
                if (_publishingThread == self)
                {
                    // Called from a sink on the publishing thread itself: waiting for ourselves would never end. The
                    // publishing frame below publishes up to this target before it returns.
                    _reentrantTarget = Math.Max(_reentrantTarget, target);
                    return;
                }

                if (_published >= target)
                {
                    return;
                }

                if (_publishingThread != 0)
                {
                    Monitor.Wait(_gate);
                    continue;
                }

                batch = _outbox;
                _outbox = new Outbox();
                upTo = _enqueued;
                _publishingThread = self;
            }

            try
            {
                Debug.Assert(!Monitor.IsEntered(_gate), "sinks run outside the publisher's lock");
                batch.PublishTo(_sinks);
            }
            finally
            {
                lock (_gate)
                {
                    _published = upTo;
                    _publishingThread = 0;
                    target = Math.Max(target, _reentrantTarget);
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    /// <summary>Publishes everything enqueued so far.</summary>
    internal void FlushAll() => Flush(Volatile.Read(ref _enqueued));

    private sealed class Outbox
    {
        private readonly List<TaskLeakGroup> _leaks = new();
        private readonly Dictionary<int, int> _leakIndex = new();
        private readonly List<StalledOperationGroup> _stalled = new();
        private readonly Dictionary<int, int> _stalledIndex = new();
        private readonly List<GrowingSite> _growing = new();
        private readonly Dictionary<string, int> _growingIndex = new();

        internal int Size => _leaks.Count + _stalled.Count + _growing.Count;

        internal void Merge(IReadOnlyList<TaskLeakGroup> leaks, IReadOnlyList<StalledOperationGroup> stalled, IReadOnlyList<GrowingSite> growing)
        {
            foreach (TaskLeakGroup group in leaks)
            {
                if (_leakIndex.TryGetValue(group.SiteId, out int i))
                {
                    long count = (long)_leaks[i].Count + group.Count;
                    _leaks[i] = group.WithCount(count > int.MaxValue ? int.MaxValue : (int)count);
                }
                else
                {
                    _leakIndex[group.SiteId] = _leaks.Count;
                    _leaks.Add(group);
                }
            }

            foreach (StalledOperationGroup group in stalled)
            {
                if (_stalledIndex.TryGetValue(group.SiteId, out int i))
                {
                    _stalled[i] = group;
                }
                else
                {
                    _stalledIndex[group.SiteId] = _stalled.Count;
                    _stalled.Add(group);
                }
            }

            foreach (GrowingSite site in growing)
            {
                string key = site.Method + "\u001F" + site.AwaitSite;
                if (_growingIndex.TryGetValue(key, out int i))
                {
                    _growing[i] = site;
                }
                else
                {
                    _growingIndex[key] = _growing.Count;
                    _growing.Add(site);
                }
            }
        }

        internal void PublishTo(LeakSinks sinks)
        {
            if (_leaks.Count > 0)
            {
                sinks.Publish(_leaks);
            }

            if (_stalled.Count > 0)
            {
                sinks.PublishStalled(_stalled);
            }

            if (_growing.Count > 0)
            {
                sinks.PublishGrowing(_growing);
            }
        }
    }
}
