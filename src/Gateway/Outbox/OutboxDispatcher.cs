using System.Collections.Concurrent;
using Gateway.Accounts;
using Gateway.Amo.Pacing;
using Gateway.Amo.Tokens;
using Gateway.Observability;
using Microsoft.Extensions.Options;

namespace Gateway.Outbox;

// Drains the outbox per account: notes and leads in batches, a few workers per account, all under the account's limiter.
// Accounts are served side by side (at most OUTBOX_ACCOUNT_CONCURRENCY at once, in turns when more have work), and a pass
// never waits for an account's drain: one account's backlog, outage, 429s or slow answers never hold another's leads.
internal sealed partial class OutboxDispatcher(
    LeadStore store,
    NoteStore notes,
    TaskStore tasks,
    IFollowUpTaskSender taskSender,
    LeadDelivery delivery,
    AccountDeliveryState accounts,
    TokenStore tokens,
    TokenImporter importer,
    AccountRegistry registry,
    LeadOutcomes outcomes,
    OutboxSignal signal,
    DeliveryDemand demand,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);

    // Batches one account's workers send in a turn before an account waiting for a turn gets it.
    private const int TurnBatches = 4;

    // amoCRM's documented batch for POST /api/v4/tasks.
    private const int MaxTasksPerCall = 50;

    private readonly ConcurrentDictionary<string, Task> draining = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> passedOver = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim turns = new(options.Value.AccountConcurrency, options.Value.AccountConcurrency);
    private int waitingForTurn;
    private DateTimeOffset nextPrune = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PassAsync(stoppingToken);
                await PruneIfDueAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogDispatchFailed(ex);
            }

            await signal.WaitAsync(options.Value.PollInterval, time, stoppingToken);
        }

        // Stopping: the drains see the token and end after their batch.
        await Task.WhenAll(draining.Values).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    // One pass, and every drain running then (its own and the loop's, which may hold this pass's work), to their end:
    // tests drive the outbox with this.
    public async Task DispatchAsync(CancellationToken cancellationToken)
    {
        var drains = await PassAsync(cancellationToken);
        await Task.WhenAll(drains.Concat(draining.Values));
    }

    // Starts a drain for each account with due work that is not draining already; does not wait for them.
    private async Task<IReadOnlyList<Task>> PassAsync(CancellationToken cancellationToken)
    {
        // Only configured accounts are delivered to: one taken out of the accounts file keeps its leads, unsent. One
        // added to it brings its configured token (tokens_file, long_lived_token) with it.
        var configuredAccounts = registry.All;
        await importer.ImportAddedAccountsAsync(configuredAccounts, cancellationToken);
        var configured = configuredAccounts.Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
        var known = (await tokens.AccountsAsync(cancellationToken)).Where(configured.Contains).ToList();

        // Pacing hears what the queue holds from here, not from a query per call: taken before the look, so a lead
        // stored after it keeps its account marked.
        var before = known.ToDictionary(a => a, demand.Snapshot, StringComparer.Ordinal);
        var accountsWithWork = await store.AccountsWithWorkAsync(known, cancellationToken);

        // An account whose outage pause ran out is probed even when all its work is backing off: that work waits for
        // amoCRM's return, not for its own backoff.
        var toProbe = (await accounts.ProbeDueAsync(cancellationToken)).Where(configured.Contains).Except(accountsWithWork, StringComparer.Ordinal).ToList();
        if (toProbe.Count > 0)
        {
            accountsWithWork = [.. accountsWithWork, .. await store.AccountsWithWorkAsync(toProbe, DateTimeOffset.MaxValue, cancellationToken)];
        }
        foreach (var account in known.Except(accountsWithWork, StringComparer.Ordinal).Where(a => !draining.ContainsKey(a)))
        {
            demand.Cleared(account, before[account]);
        }

        // Callers of an account that has no token yet are told "queued" at once, not after the whole wait.
        foreach (var account in outcomes.WaitingAccounts().Except(accountsWithWork))
        {
            // An account added since this pass began is the next pass's (its intake rang for one).
            if (configured.Contains(account) && !draining.ContainsKey(account) && !await CanDeliverAsync(account, cancellationToken))
            {
                outcomes.SetBacklogged(account, true);
                outcomes.CompleteAccount(account, new LeadOutcome(LeadOutcomeKind.Queued));
            }
        }

        var drains = new List<Task>();
        foreach (var account in accountsWithWork)
        {
            if (draining.TryGetValue(account, out var running))
            {
                // Its drain may have made its last claim before this work came: it looks again when it ends.
                passedOver[account] = true;
                drains.Add(running);
                continue;
            }

            if (!await CanDeliverAsync(account, cancellationToken))
            {
                // Queued, but nothing will be sent for it now: lookups need not hold back.
                demand.Cleared(account, before[account]);
                outcomes.SetBacklogged(account, true);
                outcomes.CompleteAccount(account, new LeadOutcome(LeadOutcomeKind.Queued));
                continue;
            }

            // Passes may overlap (the loop's and a direct call's): one drain per account, whoever starts it.
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!draining.TryAdd(account, gate.Task))
            {
                passedOver[account] = true;
                drains.Add(draining.GetValueOrDefault(account) ?? Task.CompletedTask);
                continue;
            }

            demand.Queued(account);
            drains.Add(gate.Task);
            _ = RunAccountAsync(account, gate, cancellationToken);
        }

        return drains;
    }

    private async Task RunAccountAsync(string account, TaskCompletionSource done, CancellationToken cancellationToken)
    {
        try
        {
            if (await accounts.NeedsProbeAsync(account, cancellationToken) && !await delivery.ProbeAsync(account, cancellationToken))
            {
                outcomes.SetBacklogged(account, true);
                outcomes.CompleteAccount(account, new LeadOutcome(LeadOutcomeKind.Queued));
                return;
            }

            bool more;
            do
            {
                passedOver.TryRemove(account, out _);
                more = await TakeTurnAsync(account, cancellationToken);
            }
            while (more && !cancellationToken.IsCancellationRequested);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogAccountDrainFailed(account, ex);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            draining.TryRemove(account, out _);
            done.TrySetResult();
            // Work that came while this drain was ending is looked at now, not at the next poll.
            if (passedOver.TryRemove(account, out _))
            {
                signal.Ring();
            }
        }
    }

    // One turn of an account: its workers drain until the queue is empty, amoCRM says stop, or (when other accounts wait
    // for a turn) a few batches are sent. True when the account yielded with work left.
    private async Task<bool> TakeTurnAsync(string account, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref waitingForTurn);
        try
        {
            await turns.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref waitingForTurn);
        }

        try
        {
            var stop = new StopFlag();
            var yielded = new StopFlag();
            var workers = Enumerable.Range(0, options.Value.Workers).Select(_ => DrainAsync(account, stop, yielded, cancellationToken));

            // Each worker's last claim found nothing (or amoCRM said stop): the account is no longer waiting to send.
            var snapshots = await Task.WhenAll(workers);
            if (yielded.IsSet && !stop.IsSet)
            {
                return true;
            }

            demand.Cleared(account, snapshots.Min());
            if (stop.IsSet)
            {
                // Whoever still waits on this account's next batch would wait in vain: it is queued.
                outcomes.CompleteAccount(account, new LeadOutcome(LeadOutcomeKind.Queued));
            }

            return false;
        }
        finally
        {
            turns.Release();
        }
    }

    // The pause is the outbox's own back-off after amoCRM said stop, not the account's token, so it is asked here and
    // not in the token room's answer (readiness and /metrics report the token: a pause of seconds would make them flap).
    // Without a usable token every call would fail at once: wait for consent instead of churning the queue.
    private async Task<bool> CanDeliverAsync(string account, CancellationToken cancellationToken) =>
        !await accounts.IsPausedAsync(account, cancellationToken) && await tokens.CanDeliverAsync(account, cancellationToken);

    // Answers the demand snapshot taken before its last claim.
    private async Task<long> DrainAsync(string account, StopFlag stop, StopFlag yielded, CancellationToken cancellationToken)
    {
        var snapshot = demand.Snapshot(account);
        var batches = 0;
        while (!stop.IsSet && !yielded.IsSet && !cancellationToken.IsCancellationRequested)
        {
            if (batches++ >= TurnBatches && Volatile.Read(ref waitingForTurn) > 0)
            {
                yielded.Set();
                return snapshot;
            }

            snapshot = demand.Snapshot(account);
            var batchSize = await accounts.BatchSizeAsync(account, cancellationToken);
            BatchVerdict verdict;
            // Notes go first once a full batch of them is due; fewer wait for the leads, so the notes of several small lead
            // batches share one call. With no lead due, whatever notes are due go.
            var claimStarted = GatewayTracing.Now;
            var claimedNotes = await notes.ClaimAsync(account, batchSize, options.Value.Lease, minimum: batchSize, cancellationToken);
            IReadOnlyList<ClaimedLead> leads = [];
            if (claimedNotes.Count == 0)
            {
                claimStarted = GatewayTracing.Now;
                leads = await store.ClaimAsync(account, batchSize, options.Value.Lease, cancellationToken);
                // Full batches mean a backlog; so does a batch that had to wait for a call (LeadDelivery: for a second).
                outcomes.SetBacklogged(account, leads.Count >= batchSize);
                if (leads.Count == 0)
                {
                    claimStarted = GatewayTracing.Now;
                    claimedNotes = await notes.ClaimAsync(account, batchSize, options.Value.Lease, minimum: 1, cancellationToken);
                    if (claimedNotes.Count == 0)
                    {
                        // Follow-up tasks go last: nothing a lead or its note needs waits for them.
                        claimStarted = GatewayTracing.Now;
                        var claimedTasks = await tasks.ClaimAsync(account, Math.Min(batchSize, MaxTasksPerCall), options.Value.Lease, cancellationToken);
                        if (claimedTasks.Count == 0)
                        {
                            return snapshot;
                        }

                        verdict = await AttemptAsync("outbox.deliver tasks", account, claimedTasks.Select(t => t.TraceParent).ToList(), claimStarted,
                            () => taskSender.DeliverAsync(account, claimedTasks, cancellationToken));
                        if (verdict == BatchVerdict.Stop)
                        {
                            stop.Set();
                        }

                        continue;
                    }
                }
            }

            if (claimedNotes.Count > 0)
            {
                verdict = await AttemptAsync("outbox.deliver notes", account, claimedNotes.Select(n => n.TraceParent).ToList(), claimStarted,
                    () => delivery.DeliverNotesAsync(account, claimedNotes, cancellationToken));
            }
            else
            {
                verdict = await AttemptAsync("outbox.deliver leads", account, leads.Select(l => l.TraceParent).ToList(), claimStarted,
                    () => delivery.DeliverLeadsAsync(account, leads, cancellationToken), leads[0].Attempts);
            }

            if (verdict == BatchVerdict.Stop)
            {
                stop.Set();
            }
        }

        return snapshot;
    }

    // The attempt's span begins with its claim, so the trace shows the claim, the pacing wait, the call and the settlement.
    private static async Task<BatchVerdict> AttemptAsync(string name, string account, List<string?> traceParents, DateTimeOffset claimStarted, Func<Task<BatchVerdict>> deliver, long? attempt = null)
    {
        using var span = GatewayTracing.StartAttempt(name, account, traceParents, claimStarted);
        GatewayTracing.Step(GatewayTracing.Outbox, "outbox.claim", claimStarted, traceParents.Count);
        span?.SetTag("gateway.attempt", attempt);
        var verdict = await deliver();
        span?.SetTag("gateway.batch.verdict", verdict == BatchVerdict.Stop ? "stop" : "continue");
        return verdict;
    }

    private async Task PruneIfDueAsync(CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() < nextPrune)
        {
            return;
        }

        nextPrune = time.GetUtcNow() + PruneEvery;
        var pruned = await store.PruneDeliveredAsync(options.Value.Retention, cancellationToken);
        if (pruned > 0)
        {
            LogPruned(pruned, options.Value.Retention);
        }
    }

    // One worker's failure stops its siblings from claiming more for an unwell account.
    private sealed class StopFlag
    {
        private volatile bool stopped;

        public bool IsSet => stopped;

        public void Set() => stopped = true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox dispatch failed; it will run again")]
    private partial void LogDispatchFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox drain of {Account} failed; it will run again")]
    private partial void LogAccountDrainFailed(string account, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pruned {Count} delivered leads older than {Retention}")]
    private partial void LogPruned(int count, TimeSpan retention);
}
