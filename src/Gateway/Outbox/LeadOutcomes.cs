using System.Collections.Concurrent;
using System.Threading.Channels;
using Gateway.Amo;

namespace Gateway.Outbox;

internal enum LeadOutcomeKind
{
    Delivered,
    Queued,
    Failed,
    SettledElsewhere,   // another instance settled it: the row says how
}

internal sealed record LeadOutcome(LeadOutcomeKind Kind, AmoResult? Failure = null);

// Told after each settlement commit which leads became delivered or failed (the events room's lead.* events). Asked
// first whether it wants them: the rows it wants are marked as owed in the settlement's own commit, so what a crash
// keeps it from hearing is found again (LeadStore.OwedAnnouncementsAsync) and the sink clears the mark itself.
internal interface ILeadSettlementSink
{
    bool Wants(string account, LeadOutcomeKind outcome);

    Task SettledAsync(string account, IReadOnlyList<long> delivered, IReadOnlyList<long> failed, CancellationToken cancellationToken);
}

// Lets an intake request wait for its own lead's first attempt; keyed by source_uid, known before the row exists.
internal sealed class LeadOutcomes(TimeProvider time)
{
    // How long a batch's wait for one of the account's calls keeps new leads answered 202 at once: amoCRM's rate window.
    private static readonly TimeSpan RateBoundFor = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, (string Account, TaskCompletionSource<LeadOutcome> Completion)> waiting = new();

    private readonly ConcurrentDictionary<string, bool> backlogged = new(StringComparer.Ordinal);

    // Leads settled here whose caller may wait on another instance. Only wake-ups: dropping the oldest when the relay
    // cannot keep up costs a caller the rest of its wait, never a lead.
    private readonly Channel<string> settledWithoutWaiter = Channel.CreateBounded<string>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private volatile bool announcing;

    private readonly ConcurrentDictionary<string, long> rateBoundUntil = new(StringComparer.Ordinal);

    // While the dispatcher keeps finding full batches, or its batches wait for the account's calls, a new lead waits
    // behind them: answering 202 at once is honest and fast, and lets the leads gather into full batches.
    public bool IsBacklogged(string account) =>
        (backlogged.TryGetValue(account, out var value) && value)
        || (rateBoundUntil.TryGetValue(account, out var until) && time.GetTimestamp() < until);

    public void SetBacklogged(string account, bool value) => backlogged[account] = value;

    private readonly ConcurrentDictionary<string, Queue<long>> sends = new(StringComparer.Ordinal);

    // A batch of the account goes out. Once the last second holds as many as the account's calls per second, the next
    // batch will wait for a call: amoCRM's rate is the bottleneck for the next second. Counted here, at the send, not
    // from how long the send took to get its slot: a slow database or token refresh is no backlog.
    public void Sent(string account, int callsPerSecond)
    {
        var now = time.GetTimestamp();
        var window = (long)(RateBoundFor.TotalSeconds * time.TimestampFrequency);
        var queue = sends.GetOrAdd(account, _ => new Queue<long>());
        lock (queue)
        {
            queue.Enqueue(now);
            while (queue.Count > 0 && queue.Peek() <= now - window)
            {
                queue.Dequeue();
            }

            if (queue.Count >= callsPerSecond)
            {
                rateBoundUntil[account] = now + window;
            }
        }
    }

    public Task<LeadOutcome> Register(string account, string sourceUid)
    {
        var completion = new TaskCompletionSource<LeadOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting[sourceUid] = (account, completion);
        return completion.Task;
    }

    public IReadOnlyCollection<string> WaitingAccounts() => waiting.Values.Select(v => v.Account).ToHashSet(StringComparer.Ordinal);

    public void Forget(string sourceUid) => waiting.TryRemove(sourceUid, out _);

    public void Complete(string sourceUid, LeadOutcome outcome)
    {
        if (!CompleteHere(sourceUid, outcome) && announcing)
        {
            settledWithoutWaiter.Writer.TryWrite(sourceUid);
        }
    }

    private bool CompleteHere(string sourceUid, LeadOutcome outcome)
    {
        if (!waiting.TryRemove(sourceUid, out var entry))
        {
            return false;
        }

        entry.Completion.TrySetResult(outcome);
        return true;
    }

    // From now on settled leads nobody here waits for are handed to the caller (the cluster relay) to announce.
    public ChannelReader<string> StartAnnouncing()
    {
        announcing = true;
        return settledWithoutWaiter.Reader;
    }

    // Another instance announced these: wake whoever waits here, to read the outcome from the row.
    public void WakeSettledElsewhere(IEnumerable<string> sourceUids)
    {
        var settledElsewhere = new LeadOutcome(LeadOutcomeKind.SettledElsewhere);
        foreach (var sourceUid in sourceUids)
        {
            CompleteHere(sourceUid, settledElsewhere);
        }
    }

    // The account cannot deliver right now: nobody should wait out the full window for that.
    public void CompleteAccount(string account, LeadOutcome outcome)
    {
        foreach (var (sourceUid, entry) in waiting)
        {
            if (entry.Account == account)
            {
                Complete(sourceUid, outcome);
            }
        }
    }
}
