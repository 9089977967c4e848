using System.Collections.Concurrent;
using Gateway.Amo;

namespace Gateway.Outbox;

internal enum LeadOutcomeKind
{
    Delivered,
    Queued,
    Failed,
}

internal sealed record LeadOutcome(LeadOutcomeKind Kind, AmoResult? Failure = null);

// Lets an intake request wait for its own lead's first attempt; keyed by source_uid, known before the row exists.
internal sealed class LeadOutcomes
{
    private readonly ConcurrentDictionary<string, (string Account, TaskCompletionSource<LeadOutcome> Completion)> waiting = new();

    private readonly ConcurrentDictionary<string, bool> backlogged = new(StringComparer.Ordinal);

    // While the dispatcher keeps finding full batches, a new lead waits behind them: answering 202 at once is honest and fast.
    public bool IsBacklogged(string account) => backlogged.TryGetValue(account, out var value) && value;

    public void SetBacklogged(string account, bool value) => backlogged[account] = value;

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
        if (waiting.TryRemove(sourceUid, out var entry))
        {
            entry.Completion.TrySetResult(outcome);
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
