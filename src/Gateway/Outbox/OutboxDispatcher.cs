using Gateway.Amo.Pacing;
using Gateway.Amo.Tokens;
using Gateway.Observability;
using Microsoft.Extensions.Options;

namespace Gateway.Outbox;

// Drains the outbox per account: notes and leads in batches, a few workers per account, all under the account's limiter.
internal sealed partial class OutboxDispatcher(
    LeadStore store,
    NoteStore notes,
    LeadDelivery delivery,
    AccountDeliveryState accounts,
    TokenStore tokens,
    LeadOutcomes outcomes,
    OutboxSignal signal,
    DeliveryDemand demand,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);
    private DateTimeOffset nextPrune = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DispatchAsync(stoppingToken);
                await PruneIfDueAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogDispatchFailed(ex);
            }

            await signal.WaitAsync(options.Value.PollInterval, time, stoppingToken);
        }
    }

    public async Task DispatchAsync(CancellationToken cancellationToken)
    {
        var known = await tokens.AccountsAsync(cancellationToken);

        // Pacing hears what the queue holds from here, not from a query per call: taken before the look, so a lead
        // stored after it keeps its account marked.
        var before = known.ToDictionary(a => a, demand.Snapshot, StringComparer.Ordinal);
        var accountsWithWork = await store.AccountsWithWorkAsync(known, cancellationToken);
        foreach (var account in known.Except(accountsWithWork, StringComparer.Ordinal))
        {
            demand.Cleared(account, before[account]);
        }

        // Callers of an account that has no token yet are told "queued" at once, not after the whole wait.
        foreach (var account in outcomes.WaitingAccounts().Except(accountsWithWork))
        {
            if (!await CanDeliverAsync(account, cancellationToken))
            {
                outcomes.SetBacklogged(account, true);
                outcomes.CompleteAccount(account, new LeadOutcome(LeadOutcomeKind.Queued));
            }
        }

        foreach (var account in accountsWithWork)
        {
            if (!await CanDeliverAsync(account, cancellationToken))
            {
                // Queued, but nothing will be sent for it now: lookups need not hold back.
                demand.Cleared(account, before[account]);
                outcomes.SetBacklogged(account, true);
                outcomes.CompleteAccount(account, new LeadOutcome(LeadOutcomeKind.Queued));
                continue;
            }

            demand.Queued(account);
            var stop = new StopFlag();
            var workers = Enumerable.Range(0, options.Value.Workers).Select(_ => DrainAsync(account, stop, cancellationToken));

            // Each worker's last claim found nothing (or amoCRM said stop): the account is no longer waiting to send.
            demand.Cleared(account, (await Task.WhenAll(workers)).Min());
            if (stop.IsSet)
            {
                // Whoever still waits on this account's next batch would wait in vain: it is queued.
                outcomes.CompleteAccount(account, new LeadOutcome(LeadOutcomeKind.Queued));
            }
        }
    }

    // The pause is the outbox's own back-off after amoCRM said stop, not the account's token, so it is asked here and
    // not in the token room's answer (readiness and /metrics report the token: a pause of seconds would make them flap).
    // Without a usable token every call would fail at once: wait for consent instead of churning the queue.
    private async Task<bool> CanDeliverAsync(string account, CancellationToken cancellationToken) =>
        !await accounts.IsPausedAsync(account, cancellationToken) && await tokens.CanDeliverAsync(account, cancellationToken);

    // Answers the demand snapshot taken before its last claim.
    private async Task<long> DrainAsync(string account, StopFlag stop, CancellationToken cancellationToken)
    {
        var snapshot = demand.Snapshot(account);
        while (!stop.IsSet && !cancellationToken.IsCancellationRequested)
        {
            snapshot = demand.Snapshot(account);
            var batchSize = await accounts.BatchSizeAsync(account, cancellationToken);
            BatchVerdict verdict;
            var claimStarted = GatewayTracing.Now;
            var claimedNotes = await notes.ClaimAsync(account, batchSize, options.Value.Lease, cancellationToken);
            if (claimedNotes.Count > 0)
            {
                verdict = await AttemptAsync("outbox.deliver notes", account, claimedNotes.Select(n => n.TraceParent).ToList(), claimStarted,
                    () => delivery.DeliverNotesAsync(account, claimedNotes, cancellationToken));
            }
            else
            {
                claimStarted = GatewayTracing.Now;
                var leads = await store.ClaimAsync(account, batchSize, options.Value.Lease, cancellationToken);
                outcomes.SetBacklogged(account, leads.Count >= batchSize);
                if (leads.Count == 0)
                {
                    return snapshot;
                }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Pruned {Count} delivered leads older than {Retention}")]
    private partial void LogPruned(int count, TimeSpan retention);
}
