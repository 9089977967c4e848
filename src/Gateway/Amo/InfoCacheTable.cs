using System.Collections.Concurrent;

namespace Gateway.Amo;

// One account's cached amoCRM answers, each loaded once however many ask at the same time (single flight).
// Bounded: at most `capacity` entries besides the pinned few (the account's fixed resources). When full, expired
// entries go first, then the least recently used answered ones, down to nine tenths; a load still in flight is never
// evicted (its callers hold it). A scan of distinct ids therefore evicts its own one-off entries, not the ones in use,
// and when every entry is in flight a new key is loaded for its caller without being kept.
// A load runs without its callers' tokens, so one caller leaving does not fail the others; when the last one leaves
// before the call was sent, the call is withdrawn (AmoCall.Unwanted) and the next caller starts afresh.
internal sealed class InfoCacheTable(int capacity, Func<AmoResult, TimeSpan> timeToLive, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private int unpinned;
    private long uses;

    public int Count => Volatile.Read(ref unpinned);

    public async Task<AmoResult> GetAsync(
        string key, bool pinned, AmoCallClass callClass, Func<AmoPriority, CancellationToken, Task<AmoResult>> load, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (FindOrAdd(key, pinned) is not { } entry)
            {
                return await LoadUnkeptAsync(callClass, load, cancellationToken);
            }

            Volatile.Write(ref entry.LastUsed, Interlocked.Increment(ref uses));
            var now = time.GetUtcNow();
            if (entry.IsFresh(now))
            {
                return entry.Answer.Result;
            }

            switch (entry.TryJoin(callClass, now))
            {
                case Join.Fresh:
                    return entry.Answer.Result;

                case Join.Spent:
                    // Expired, failed or given up: whoever swaps first loads, the rest share it.
                    entries.TryUpdate(key, new Entry(pinned), entry);
                    continue;

                case Join.Started:
                    _ = RunAsync(entry, load);
                    break;

                case Join.Joined:
                    break;
            }

            var gaveUp = false;
            try
            {
                return await entry.Answer.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                gaveUp = true;
                throw;
            }
            finally
            {
                entry.Leave(gaveUp);
            }
        }
    }

    private static async Task<AmoResult> LoadUnkeptAsync(AmoCallClass callClass, Func<AmoPriority, CancellationToken, Task<AmoResult>> load, CancellationToken cancellationToken)
    {
        var result = await load(new AmoPriority(callClass), cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        return result;
    }

    private async Task RunAsync(Entry entry, Func<AmoPriority, CancellationToken, Task<AmoResult>> load)
    {
        AmoResult result;
        try
        {
            result = await load(entry.Priority!, entry.Unwanted);
        }
        catch (Exception ex)
        {
            entry.Fail(ex);
            return;
        }

        entry.Settle(result, time.GetUtcNow() + timeToLive(result));
    }

    private Entry? FindOrAdd(string key, bool pinned)
    {
        if (entries.TryGetValue(key, out var found))
        {
            return found;
        }

        lock (gate)
        {
            if (entries.TryGetValue(key, out found))
            {
                return found;
            }

            if (!pinned && unpinned >= capacity)
            {
                EvictLocked();
                if (unpinned >= capacity)
                {
                    return null;
                }
            }

            var entry = new Entry(pinned);
            entries[key] = entry;
            if (!pinned)
            {
                unpinned++;
            }

            return entry;
        }
    }

    // Rare (once per tenth of the capacity inserted), and under the insert lock only: hits never wait for it.
    private void EvictLocked()
    {
        var now = time.GetUtcNow();
        var answered = new List<(string Key, Entry Entry, long LastUsed)>();
        foreach (var (key, entry) in entries)
        {
            if (entry.Pinned || !entry.Answer.IsCompleted)
            {
                continue;
            }

            if (!entry.IsFresh(now))
            {
                RemoveLocked(key, entry);
            }
            else
            {
                answered.Add((key, entry, Volatile.Read(ref entry.LastUsed)));
            }
        }

        var target = capacity - Math.Max(1, capacity / 10);
        if (unpinned <= target)
        {
            return;
        }

        answered.Sort((a, b) => a.LastUsed.CompareTo(b.LastUsed));
        foreach (var (key, entry, _) in answered)
        {
            if (unpinned <= target)
            {
                break;
            }

            RemoveLocked(key, entry);
        }
    }

    private void RemoveLocked(string key, Entry entry)
    {
        if (entries.TryRemove(KeyValuePair.Create(key, entry)))
        {
            unpinned--;
        }
    }

    private enum Join
    {
        Started,
        Joined,
        Fresh,
        Spent,
    }

    // Disposes itself (its token source) once its load has settled and no cancellation is still running.
    private sealed class Entry(bool pinned) : IDisposable
    {
        private readonly Lock gate = new();
        private readonly TaskCompletionSource<AmoResult> answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource unwanted = new();
        private int waiters;
        private bool abandoned;
        private bool cancelling;
        private bool settled;
        private long expiresAtTicks = long.MaxValue;

        public long LastUsed;

        public bool Pinned { get; } = pinned;

        public Task<AmoResult> Answer => answer.Task;

        public AmoPriority? Priority { get; private set; }

        public CancellationToken Unwanted => unwanted.Token;

        public bool IsFresh(DateTimeOffset now) => answer.Task.IsCompletedSuccessfully && now.UtcTicks < Volatile.Read(ref expiresAtTicks);

        public Join TryJoin(AmoCallClass callClass, DateTimeOffset now)
        {
            AmoPriority? raise = null;
            Join joined;
            lock (gate)
            {
                if (answer.Task.IsCompleted)
                {
                    return IsFresh(now) ? Join.Fresh : Join.Spent;
                }

                if (abandoned)
                {
                    return Join.Spent;
                }

                waiters++;
                if (Priority is null)
                {
                    Priority = new AmoPriority(callClass);
                    joined = Join.Started;
                }
                else
                {
                    raise = callClass == AmoCallClass.Delivery ? Priority : null;
                    joined = Join.Joined;
                }
            }

            // A delivery that needs this answer lends the load its turn (outside the lock: the limiter takes its own).
            raise?.RaiseToDelivery();
            return joined;
        }

        public void Leave(bool gaveUp)
        {
            lock (gate)
            {
                waiters--;
                if (!gaveUp || waiters > 0 || answer.Task.IsCompleted)
                {
                    return;
                }

                abandoned = true;
                cancelling = true;
            }

            // Outside the lock: the wait it cancels may finish the load on this very thread.
            unwanted.Cancel();
            lock (gate)
            {
                cancelling = false;
                if (settled)
                {
                    Dispose();
                }
            }
        }

        public void Settle(AmoResult result, DateTimeOffset expiresAt)
        {
            Volatile.Write(ref expiresAtTicks, expiresAt.UtcTicks);
            answer.TrySetResult(result);
            Settled();
        }

        public void Fail(Exception exception)
        {
            Volatile.Write(ref expiresAtTicks, long.MinValue);
            answer.TrySetException(exception);
            Settled();
        }

        private void Settled()
        {
            lock (gate)
            {
                settled = true;
                if (!cancelling)
                {
                    Dispose();
                }
            }
        }

        public void Dispose() => unwanted.Dispose();
    }
}
