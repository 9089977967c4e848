using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Pacing;

// One window per account for every amoCRM call: at most N calls in any second *as amoCRM counts them*.
// A call arrives at amoCRM somewhere between our send and its answer, so a slot is held from the send
// until one window after the answer: then no N+1 arrivals can share a second, whatever the network did.
// Pacing is wall-clock by nature (amoCRM counts real seconds), so it reads the pacing clock (PacingClock), not the app's.
// This in-process half keeps a process's own workers from polling the database for slots; the cluster half
// (AmoRateBudget) makes the budget one for every instance sharing the database.
// The budget belongs to delivery: a waiting delivery call goes before every waiting lookup, and while leads are queued
// lookups together hold at most their share (2 of 7) of the slots, counting the window after each answer.
internal sealed class AmoRateLimiter(
    Accounts.AccountRegistry registry,
    AmoRateBudget budget,
    DeliveryDemand demand,
    Observability.GatewayMetrics metrics,
    [FromKeyedServices(PacingClock.Key)] TimeProvider clock) : IDisposable
{
    private static readonly TimeSpan Window = AmoRateBudget.Window;

    private readonly ConcurrentDictionary<string, SlidingWindow> windows = new(StringComparer.Ordinal);

    // 2 of amoCRM's 7, in proportion for other limits; at least one, so lookups are slowed, never shut out.
    public static int LookupShare(int limit) => Math.Max(1, limit * 2 / 7);

    public Task<IAsyncDisposable> AcquireAsync(string account, AmoCallClass callClass, CancellationToken cancellationToken) =>
        AcquireAsync(account, new AmoPriority(callClass), cancellationToken);

    public async Task<IAsyncDisposable> AcquireAsync(string account, AmoPriority priority, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        using var span = Observability.GatewayTracing.Pacing.StartActivity("amo.pacing.wait");
        span?.SetTag("gateway.account", account);
        span?.SetTag("gateway.call_class", priority.IsDelivery ? "delivery" : "lookup");
        var window = WindowFor(account);
        var acquiring = window.AcquireAsync(priority, cancellationToken);
        var waited = !acquiring.IsCompleted;
        var local = await acquiring;
        try
        {
            var cluster = await budget.AcquireAsync(account, priority, () => window.HoldsLookupsBack, cancellationToken);
            span?.SetTag("gateway.waited", waited || cluster.Waited);
            if (waited || cluster.Waited)
            {
                metrics.RecordRateLimitWait(account, clock.GetElapsedTime(started));
            }

            return new Slot(local, cluster);
        }
        catch
        {
            local.Dispose();
            throw;
        }
    }

    private SlidingWindow WindowFor(string account)
    {
        var limit = AmoRateBudget.RateLimitOf(registry, account);
        var window = windows.GetOrAdd(account, a => new SlidingWindow(a, limit, demand, clock));
        window.WatchDemand();

        // An accounts-file rewrite may change rate_limit: the next call keeps to the new one, without a restart.
        window.Resize(limit);
        return window;
    }

    private sealed class Slot(IDisposable local, IAsyncDisposable cluster) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            // The local half frees only after the cluster half, so this process never runs ahead of the shared budget.
            await cluster.DisposeAsync();
            local.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var window in windows.Values)
        {
            window.Dispose();
        }
    }

    // Slots are handed out by the window itself, in order: waiting deliveries first, then waiting lookups while they
    // are under their cap. It wakes when a call finishes, when a finished call leaves the window (a timer), when a
    // waiting lookup rises to delivery, and when the account's queue empties.
    private sealed class SlidingWindow(string account, int limit, DeliveryDemand demand, TimeProvider clock) : IDisposable
    {
        private readonly TimeProvider clock = clock;
        private readonly Lock gate = new();
        private readonly List<Slot> slots = [];
        private readonly LinkedList<Waiter> deliveries = new();
        private readonly LinkedList<Waiter> lookups = new();
        private int limit = limit;
        private int share = LookupShare(limit);
        private ITimer? timer;
        private int watching;

        // While leads are queued, or a delivery waits here, lookups keep to their share (the cluster half asks too).
        public bool HoldsLookupsBack
        {
            get
            {
                lock (gate)
                {
                    return HoldsLookupsBackLocked();
                }
            }
        }

        // A lower limit hands out no slot until enough calls have left the window; a higher one hands them out at once.
        public void Resize(int newLimit)
        {
            lock (gate)
            {
                if (newLimit == limit)
                {
                    return;
                }

                limit = newLimit;
                share = LookupShare(newLimit);
                PumpLocked();
            }
        }

        public void WatchDemand()
        {
            if (Interlocked.Exchange(ref watching, 1) == 0)
            {
                demand.Watch(account, Pump);
            }
        }

        public void Dispose()
        {
            lock (gate)
            {
                timer?.Dispose();
                timer = null;
            }
        }

        public async Task<IDisposable> AcquireAsync(AmoPriority priority, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var waiter = new Waiter(priority);

            // Told before it is queued: a rise between the two still finds it in the right queue.
            priority.OnRaised(() => Raise(waiter));
            lock (gate)
            {
                (priority.IsDelivery ? deliveries : lookups).AddLast(waiter.Node);
                PumpLocked();
            }

            var registration = waiter.Completion.Task.IsCompleted ? default : cancellationToken.Register(() => Cancel(waiter, cancellationToken));
            try
            {
                return await waiter.Completion.Task;
            }
            finally
            {
                await registration.DisposeAsync();
                priority.OnRaised(null);
            }
        }

        private void Pump()
        {
            lock (gate)
            {
                PumpLocked();
            }
        }

        private void Raise(Waiter waiter)
        {
            lock (gate)
            {
                if (waiter.Node.List == lookups)
                {
                    lookups.Remove(waiter.Node);
                    deliveries.AddLast(waiter.Node);
                    PumpLocked();
                }
            }
        }

        private void Cancel(Waiter waiter, CancellationToken cancellationToken)
        {
            lock (gate)
            {
                if (waiter.Node.List is { } queue)
                {
                    queue.Remove(waiter.Node);
                    waiter.Completion.TrySetCanceled(cancellationToken);

                    // The last waiting delivery may have gone: lookups held back for it can have their turn.
                    PumpLocked();
                }
            }
        }

        private bool HoldsLookupsBackLocked() => deliveries.Count > 0 || demand.IsQueued(account);

        private void PumpLocked()
        {
            var now = clock.GetTimestamp();
            slots.RemoveAll(s => s.FreeAfter(now, clock));
            while (slots.Count < limit)
            {
                var next = deliveries.First;
                if (next is null && lookups.First is { } lookup && (!HoldsLookupsBackLocked() || slots.Count(s => s.IsLookup) < share))
                {
                    next = lookup;
                }

                if (next is null)
                {
                    break;
                }

                next.List!.Remove(next);
                var slot = new Slot(this, isLookup: !next.Value.Priority.IsDelivery);
                slots.Add(slot);
                next.Value.Completion.TrySetResult(slot);
            }

            if (deliveries.Count + lookups.Count == 0)
            {
                return;
            }

            // Either the oldest finished call leaves the window (the timer), or an in-flight one finishes (its Dispose pumps).
            TimeSpan? soonest = null;
            foreach (var slot in slots)
            {
                if (slot.FinishedAt is { } finished && Window - clock.GetElapsedTime(finished, now) is var left && (soonest is null || left < soonest))
                {
                    soonest = left;
                }
            }

            if (soonest is { } wait)
            {
                var due = wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
                if (timer is null)
                {
                    timer = clock.CreateTimer(_ => Pump(), null, due, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    timer.Change(due, Timeout.InfiniteTimeSpan);
                }
            }
        }

        private sealed class Waiter
        {
            public Waiter(AmoPriority priority)
            {
                Priority = priority;
                Node = new LinkedListNode<Waiter>(this);
            }

            public AmoPriority Priority { get; }

            public LinkedListNode<Waiter> Node { get; }

            public TaskCompletionSource<IDisposable> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        private sealed class Slot(SlidingWindow window, bool isLookup) : IDisposable
        {
            public bool IsLookup { get; } = isLookup;

            public long? FinishedAt { get; private set; }

            public bool FreeAfter(long now, TimeProvider clock) => FinishedAt is { } finished && clock.GetElapsedTime(finished, now) >= Window;

            public void Dispose()
            {
                lock (window.gate)
                {
                    if (FinishedAt is null)
                    {
                        FinishedAt = window.clock.GetTimestamp();
                        window.PumpLocked();
                    }
                }
            }
        }
    }
}

// The clock amoCRM's rate limit is kept by: real time (TimeProvider.System) even when a test fakes the app's clock, or
// pacing would freeze with it; registered on its own key so a test can still drive pacing with a clock of its own.
internal static class PacingClock
{
    public const string Key = "amo.pacing";
}
