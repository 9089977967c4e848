using System.Collections.Concurrent;

namespace Gateway.Amo.Pacing;

// Whether an account has leads or notes queued for delivery, as the outbox knows it without asking the database per
// call: intake says so when it stores a lead, the dispatcher when it finds work and again when a drain finds none.
// While it says so, lookups keep to their share of the account's calls (AmoRateLimiter).
internal sealed class DeliveryDemand
{
    private readonly ConcurrentDictionary<string, Account> accounts = new(StringComparer.Ordinal);

    public bool IsQueued(string account) => accounts.TryGetValue(account, out var state) && state.IsQueued;

    public void Queued(string account) => For(account).Mark();

    // Taken before looking at the queue: a Cleared with it cannot undo a Queued that came after the look.
    public long Snapshot(string account) => For(account).Generation;

    public void Cleared(string account, long snapshot) => For(account).Clear(snapshot);

    // Called when the account stops being queued, so lookups held back for it can go.
    public void Watch(string account, Action cleared) => For(account).Watch(cleared);

    private Account For(string account) => accounts.GetOrAdd(account, _ => new Account());

    private sealed class Account
    {
        private long queued;
        private long cleared;
        private Action? onCleared;

        public long Generation => Interlocked.Read(ref queued);

        public bool IsQueued => Interlocked.Read(ref queued) > Interlocked.Read(ref cleared);

        public void Mark() => Interlocked.Increment(ref queued);

        public void Clear(long snapshot)
        {
            var was = IsQueued;
            long seen;
            while ((seen = Interlocked.Read(ref cleared)) < snapshot && Interlocked.CompareExchange(ref cleared, snapshot, seen) != seen)
            {
            }

            if (was && !IsQueued)
            {
                Volatile.Read(ref onCleared)?.Invoke();
            }
        }

        public void Watch(Action cleared) => Volatile.Write(ref onCleared, cleared);
    }
}
