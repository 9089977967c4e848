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

// Lets an intake request wait for its own lead's first attempt; purely in-process and optional.
internal sealed class LeadOutcomes
{
    private readonly ConcurrentDictionary<long, (string Account, TaskCompletionSource<LeadOutcome> Completion)> waiting = new();

    public Task<LeadOutcome> Register(string account, long id)
    {
        var completion = new TaskCompletionSource<LeadOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting[id] = (account, completion);
        return completion.Task;
    }

    public void Forget(long id) => waiting.TryRemove(id, out _);

    public void Complete(long id, LeadOutcome outcome)
    {
        if (waiting.TryRemove(id, out var entry))
        {
            entry.Completion.TrySetResult(outcome);
        }
    }

    // The account cannot deliver right now: nobody should wait out the full window for that.
    public void CompleteAccount(string account, LeadOutcome outcome)
    {
        foreach (var (id, entry) in waiting)
        {
            if (entry.Account == account)
            {
                Complete(id, outcome);
            }
        }
    }
}
