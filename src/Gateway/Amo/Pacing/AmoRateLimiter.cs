using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Pacing;

// One window per account for every amoCRM call: at most N calls in any second *as amoCRM counts them*.
// A call arrives at amoCRM somewhere between our send and its answer, so a slot is held from the send
// until one window after the answer: then no N+1 arrivals can share a second, whatever the network did.
// Pacing is wall-clock by nature (amoCRM counts real seconds), so it reads the pacing clock (PacingClock), not the app's.
// This in-process half keeps a process's own workers from polling the database for slots; the cluster half
// (AmoRateBudget) makes the budget one for every instance sharing the database.
internal sealed class AmoRateLimiter(
    IOptions<AmoOptions> options,
    AmoRateBudget budget,
    Observability.GatewayMetrics metrics,
    [FromKeyedServices(PacingClock.Key)] TimeProvider clock) : IDisposable
{
    private static readonly TimeSpan Window = AmoRateBudget.Window;

    private readonly ConcurrentDictionary<string, SlidingWindow> windows = new(StringComparer.Ordinal);

    public async Task<IAsyncDisposable> AcquireAsync(string account, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        var acquiring = windows.GetOrAdd(account, _ => new SlidingWindow(options.Value.RateLimitPerSecond, clock)).AcquireAsync(cancellationToken);
        var waited = !acquiring.IsCompleted;
        var local = await acquiring;
        try
        {
            var cluster = await budget.AcquireAsync(account, cancellationToken);
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

    private sealed class SlidingWindow(int limit, TimeProvider clock) : IDisposable
    {
        private readonly TimeProvider clock = clock;
        private readonly List<Slot> slots = [];
        private readonly SemaphoreSlim gate = new(1, 1);
        private TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose() => gate.Dispose();

        public async Task<IDisposable> AcquireAsync(CancellationToken cancellationToken)
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                while (true)
                {
                    Task wakeUp;
                    TimeSpan wait;
                    lock (slots)
                    {
                        var now = clock.GetTimestamp();
                        slots.RemoveAll(s => s.FreeAfter(now, clock));
                        if (slots.Count < limit)
                        {
                            var slot = new Slot(this);
                            slots.Add(slot);
                            return slot;
                        }

                        // Either the oldest finished call leaves the window, or an in-flight one finishes.
                        wait = slots.Where(s => s.FinishedAt is not null).Select(s => Window - clock.GetElapsedTime(s.FinishedAt!.Value, now)).DefaultIfEmpty(Timeout.InfiniteTimeSpan).Min();
                        wakeUp = released.Task;
                    }

                    using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    await Task.WhenAny(wakeUp, Task.Delay(wait, clock, timer.Token));
                    await timer.CancelAsync();
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
            finally
            {
                gate.Release();
            }
        }

        private void Finished()
        {
            TaskCompletionSource previous;
            lock (slots)
            {
                previous = released;
                released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            previous.TrySetResult();
        }

        private sealed class Slot(SlidingWindow window) : IDisposable
        {
            public long? FinishedAt { get; private set; }

            public bool FreeAfter(long now, TimeProvider clock) => FinishedAt is { } finished && clock.GetElapsedTime(finished, now) >= Window;

            public void Dispose()
            {
                if (FinishedAt is null)
                {
                    lock (window.slots)
                    {
                        FinishedAt = window.clock.GetTimestamp();
                    }

                    window.Finished();
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
