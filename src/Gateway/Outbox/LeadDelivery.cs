using System.Text.Json.Nodes;
using Gateway.Amo;
using Microsoft.Extensions.Options;

namespace Gateway.Outbox;

// Sends claimed batches to amoCRM and settles every item: delivered, back to the queue, or failed with amoCRM's words.
internal sealed partial class LeadDelivery(
    AmoClient amo,
    ILeadComposer composer,
    LeadStore store,
    NoteStore noteStore,
    LeadOutcomes outcomes,
    LostAnswerLookup lostAnswers,
    IDirectLeadSender directSender,
    DirectStepStore directSteps,
    AccountDeliveryState accounts,
    Accounts.AccountRegistry registry,
    IOptions<OutboxOptions> options,
    IOptions<AmoOptions> amoOptions,
    TimeProvider time,
    Observability.GatewayMetrics metrics,
    IEnumerable<ILeadSettlementSink> settledSinks,
    LeadCallStore calls,
    ILogger<LeadDelivery> logger)
{
    // Background work has no request id: its log lines (amoCRM calls included) name the leads instead.
    private static readonly Func<ILogger, string, IDisposable?> LeadScope = LoggerMessage.DefineScope<string>("LeadIds:{LeadIds}");

    public async Task<BatchVerdict> DeliverLeadsAsync(string account, IReadOnlyList<ClaimedLead> leads, CancellationToken cancellationToken)
    {
        using var scope = LeadScope(logger, string.Join(',', leads.Select(l => l.Id)));
        var token = leads[0].ClaimToken;
        var started = time.GetUtcNow();
        ComposedLeads composed;
        using (Observability.GatewayTracing.Outbox.StartActivity("outbox.compose"))
        {
            composed = await composer.ComposeAsync(account, leads, cancellationToken);
        }

        if (composed.Unreadable.Count > 0)
        {
            await ApplyAsync(account, Settlement.Unreadable(composed.Unreadable), started);
        }

        if (composed.Readable.Count == 0)
        {
            return BatchVerdict.Continue;
        }

        if (composed.LookupFailed is { } lookup)
        {
            return await ApplyAsync(account, Settlement.LeadsDeferred(composed.Readable, lookup, time.GetUtcNow(), Schedule), started);
        }

        var mapped = composed.Ready;
        if (mapped.Where(m => m.Direct is not null).ToList() is { Count: > 0 } direct)
        {
            // Lead mode has steps of its own (contact, create or note); the unsorted rest of the batch goes on below.
            mapped = mapped.Except(direct).ToList();
            var outcome = await directSender.SendAsync(account, direct, cancellationToken);
            // Each settled lead's steps and target lead (the created one, or the open lead noted on): a follow-up step
            // (a task) runs on target_lead_id after this.
            foreach (var (id, steps, target) in outcome.Steps)
            {
                await directSteps.RecordTargetAsync(id, steps, target, CancellationToken.None);
            }

            var verdict = BatchVerdict.Continue;
            foreach (var plan in outcome.Plans)
            {
                verdict = await ApplyAsync(account, plan, started) == BatchVerdict.Stop ? BatchVerdict.Stop : verdict;
            }

            if (verdict == BatchVerdict.Stop && mapped.Count > 0)
            {
                // amoCRM is unwell: the unsorted ones wait with the rest instead of trying now.
                await ApplyAsync(account, new LeadPlan
                {
                    ClaimToken = token,
                    Requeue = new LeadRequeue([.. mapped.Select(m => (m.Lead.Id, time.GetUtcNow()))], null, CountAttempt: false, Solo: false),
                    Verdict = BatchVerdict.Stop,
                }, started);
                return BatchVerdict.Stop;
            }

            if (mapped.Count == 0)
            {
                return verdict;
            }
        }

        if (mapped.Where(m => m.Lead.UnconfirmedSince is not null || m.Lead.LapsedSince is not null).ToList() is { Count: > 0 } unconfirmed)
        {
            // An earlier send of these went out and its outcome was never learnt, or a claim of them ran out (its claimant
            // may have sent them): look before sending anything again.
            var look = await lostAnswers.FindLeadsAsync(account, unconfirmed.Select(m => m.Lead).ToList());
            metrics.ReconcileCalls(account, "leads", look.Calls);
            if (look.Failure is { } failure)
            {
                // The unsorted leads only: lead-mode ones of this batch are settled already.
                return await ApplyAsync(account, Settlement.LeadsDeferred(mapped.Select(m => m.Lead).ToList(), failure, time.GetUtcNow(), Schedule), started);
            }

            var found = unconfirmed.Where(m => look.Found.ContainsKey(m.Lead.SourceUid)).ToList();
            metrics.ReconcileFound(account, "leads", found.Count);
            // Resent: a send of theirs is known to have gone out. Only lapsed: most often their claimant stopped before
            // sending, so not finding them is the usual case, not a possible duplicate.
            var resent = unconfirmed.Except(found).Where(m => m.Lead.UnconfirmedSince is not null).ToList();
            metrics.ReconcileResent(account, "leads", resent.Count);
            if (resent.Count > 0)
            {
                // Usually never created; but one a manager took from the unsorted list meanwhile would now be there twice.
                LogResent(account, string.Join(',', resent.Select(m => m.Lead.Id)));
            }
            if (found.Count > 0)
            {
                LogFound(account, found.Count, unconfirmed.Count);
                await ApplyAsync(account, Settlement.LeadsFound(found.Select(m => (new SentLead(m.Lead, m.NoteText), look.Found[m.Lead.SourceUid])).ToList()), started);
                mapped = mapped.Except(found).ToList();
            }

            if (mapped.Count == 0)
            {
                return BatchVerdict.Continue;
            }
        }

        var body = new JsonArray(mapped.Select(m => (JsonNode)m.Item).ToArray());
        var result = await calls.TracedAsync(
            account,
            [.. mapped.Select(m => (m.Lead.Id, m.Lead.SourceUid, (string?)m.Item.ToJsonString()))],
            LeadCallStep.Lead,
            "POST",
            "api/v4/leads/unsorted/forms",
            path => PostClaimedAsync(account, path, body, mapped.Count, () =>
            {
                // With the account's calls spent, a lead arriving now would wait behind this batch: its caller is answered
                // 202 at once, so a burst gathers into full batches.
                outcomes.Sent(account, Amo.Pacing.AmoRateBudget.RateLimitOf(registry, account));
                return IsFresh(mapped.Min(m => m.Lead.LeaseUntil))
                    ? Task.FromResult(true)
                    : store.RenewClaimAsync(token, [.. mapped.Select(m => m.Lead.Id)], options.Value.Lease, CancellationToken.None);
            }),
            [.. mapped.Where(m => m.Lead.Attempts >= LeadCallStore.BoundFromAttempts).Select(m => m.Lead.Id)]);
        if (result is null)
        {
            return BatchVerdict.Continue;
        }

        var sent = mapped.Select(m => new SentLead(m.Lead, m.NoteText)).ToList();
        return await ApplyAsync(account, Settlement.Leads(sent, result, time.GetUtcNow(), Schedule), started);
    }

    // A claim made moments ago (the usual wait for a rate slot is a fraction of a second) still has most of its lease:
    // enough for the call (AMO_TIMEOUT_SECONDS) and half the margin a renewal would leave for the settlement and other
    // instances' clocks. Its batch goes without writing its rows again, a third of each lead's writes while it is
    // delivered; a claim that ran out meanwhile is marked lapsed by its next claim and the lost answer by the
    // settlement (LeadStore), so whoever sends again still looks first. Older claims are renewed (RenewClaimAsync).
    private bool IsFresh(DateTimeOffset leaseUntil)
    {
        var timeout = amoOptions.Value.RequestTimeout;
        return leaseUntil - time.GetUtcNow() >= timeout + (options.Value.Lease - timeout) / 2;
    }

    // One cheap read (the account itself) after an outage's pause: true when amoCRM answered and delivery may resume.
    public async Task<bool> ProbeAsync(string account, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var result = await amo.GetAsync(account, "api/v4/account", new AmoPriority(AmoCallClass.Delivery), cancellationToken);
        if (result.Ok)
        {
            await accounts.RecoveredAsync(account, started, CancellationToken.None);
            return true;
        }

        if (result.Failure != AmoFailure.Withdrawn)
        {
            await accounts.RecordFailureAsync(account, result, CancellationToken.None);
        }

        return false;
    }

    // Null when the batch was withdrawn before the send: another worker holds its items now and sends and settles them.
    private async Task<AmoResult?> PostClaimedAsync(string account, string path, JsonArray body, int count, SendGuard renewClaim)
    {
        var result = await amo.PostAsync(account, path, body, renewClaim, CancellationToken.None);
        if (result.Failure == AmoFailure.Withdrawn)
        {
            LogClaimLost(account, count);
            return null;
        }

        return result;
    }

    public async Task<BatchVerdict> DeliverNotesAsync(string account, IReadOnlyList<ClaimedNote> notes, CancellationToken cancellationToken)
    {
        using var scope = LeadScope(logger, string.Join(',', notes.Select(n => n.Id)));
        var token = notes[0].NoteClaimToken;
        var started = time.GetUtcNow();
        if (notes.Where(n => n.Unreadable is not null).ToList() is { Count: > 0 } unreadable)
        {
            await noteStore.SettleAsync(token, unreadable.Select(n => new NoteSettlement(n.Id, NoteStatus.Failed, null, "the stored note text: " + n.Unreadable, null)).ToList(), false, CancellationToken.None);
            notes = notes.Except(unreadable).ToList();
            if (notes.Count == 0)
            {
                return BatchVerdict.Continue;
            }
        }

        if (notes.Where(n => n.UnconfirmedSince is not null).ToList() is { Count: > 0 } unconfirmed)
        {
            // The same look as for leads: a note whose answer was lost may be on its lead already.
            var look = await lostAnswers.FindNotesAsync(account, unconfirmed);
            metrics.ReconcileCalls(account, "notes", look.Calls);
            if (look.Failure is { } failure)
            {
                return await ApplyAsync(account, Settlement.NotesDeferred(notes, failure, time.GetUtcNow(), Schedule), started);
            }

            var found = unconfirmed.Where(n => look.Found.ContainsKey(n.Id)).ToList();
            metrics.ReconcileFound(account, "notes", found.Count);
            metrics.ReconcileResent(account, "notes", unconfirmed.Count - found.Count);
            if (found.Count > 0)
            {
                await ApplyAsync(account, Settlement.NotesFound(found.Select(n => (n, look.Found[n.Id])).ToList()), started);
                notes = notes.Except(found).ToList();
            }

            if (notes.Count == 0)
            {
                return BatchVerdict.Continue;
            }
        }

        var body = new JsonArray(notes.Select(n => (JsonNode)new JsonObject
        {
            ["entity_id"] = n.AmoLeadId,
            ["note_type"] = "common",
            ["params"] = new JsonObject { ["text"] = n.NoteText },
            ["request_id"] = Settlement.RequestId(n),
        }).ToArray());
        var result = await calls.TracedAsync(
            account,
            [.. notes.Select(n => (n.Id, Settlement.RequestId(n), (string?)null))],
            LeadCallStep.Note,
            "POST",
            "api/v4/leads/notes",
            path => PostClaimedAsync(account, path, body, notes.Count, () =>
            {
                outcomes.Sent(account, Amo.Pacing.AmoRateBudget.RateLimitOf(registry, account));
                return noteStore.RenewClaimAsync(token, notes.Count, options.Value.Lease, CancellationToken.None);
            }),
            [.. notes.Where(n => n.NoteAttempts >= LeadCallStore.BoundFromAttempts).Select(n => n.Id)]);
        if (result is null)
        {
            return BatchVerdict.Continue;
        }

        return await ApplyAsync(account, Settlement.Notes(notes, result, time.GetUtcNow(), Schedule), started);
    }

    private RetrySchedule Schedule => RetrySchedule.From(options.Value);

    // The account's pause is recorded before the items return to the queue, so no other instance claims them meanwhile;
    // whoever is woken reads the verdict from the row, so waking comes only after the commit.
    private async Task<BatchVerdict> ApplyAsync(string account, LeadPlan plan, DateTimeOffset batchStartedAt)
    {
        using var span = Observability.GatewayTracing.Outbox.StartActivity("outbox.settle");
        span?.SetTag("gateway.delivered", plan.Delivered.Count);
        span?.SetTag("gateway.failed", plan.Failed.Count);
        span?.SetTag("gateway.requeued", plan.Requeue?.Items.Count ?? 0);
        if (plan.Health == AccountHealth.Failure)
        {
            await accounts.RecordFailureAsync(account, plan.HealthResult!, CancellationToken.None);
        }

        var announceDelivered = plan.Delivered.Count > 0 && settledSinks.Any(s => s.Wants(account, LeadOutcomeKind.Delivered));
        var announceFailed = plan.Failed.Count > 0 && settledSinks.Any(s => s.Wants(account, LeadOutcomeKind.Failed));
        await store.SettleAsync(plan.ClaimToken, plan.Delivered, plan.Failed, plan.Requeue, CancellationToken.None, announceDelivered, announceFailed);
        metrics.LeadsDelivered(account, plan.Delivered.Count);
        metrics.LeadsFailed(account, plan.Failed.Count);
        metrics.LostAnswers(account, "leads", plan.LostAnswers);
        if (plan.Health == AccountHealth.Success)
        {
            await accounts.RecordSuccessAsync(account, batchStartedAt, CancellationToken.None);
        }

        if (plan.Unmatched > 0)
        {
            LogUnmatched(account, plan.Unmatched);
        }

        if (plan.GaveUp > 0)
        {
            LogGaveUp(account, plan.GaveUp, plan.HealthResult!.Description);
        }

        if (plan.Deferred is { } deferred)
        {
            LogBatchDeferred(account, deferred.What, deferred.Count, deferred.Failure, deferred.Description);
        }

        foreach (var wake in plan.Wake)
        {
            outcomes.Complete(wake.SourceUid, wake.Outcome);
        }

        // After the waiters: a caller's answer does not wait for its lead's events to be stored.
        if (announceDelivered || announceFailed)
        {
            foreach (var sink in settledSinks)
            {
                await sink.SettledAsync(
                    account,
                    announceDelivered ? plan.Delivered.Select(d => d.Id).ToList() : [],
                    announceFailed ? plan.Failed.Select(f => f.Id).ToList() : [],
                    CancellationToken.None);
            }
        }

        if (plan.LostAnswers > 0)
        {
            LogAnswerLost(account, "leads", plan.LostAnswers, plan.HealthResult!.Description);
        }

        return plan.Verdict;
    }

    private async Task<BatchVerdict> ApplyAsync(string account, NotePlan plan, DateTimeOffset batchStartedAt)
    {
        using var span = Observability.GatewayTracing.Outbox.StartActivity("outbox.settle");
        span?.SetTag("gateway.notes", plan.Settlements.Count);
        if (plan.Health == AccountHealth.Failure)
        {
            await accounts.RecordFailureAsync(account, plan.HealthResult!, CancellationToken.None);
        }

        await noteStore.SettleAsync(plan.ClaimToken, plan.Settlements, plan.Solo, CancellationToken.None);
        metrics.LostAnswers(account, "notes", plan.LostAnswers);
        if (plan.LostAnswers > 0)
        {
            LogAnswerLost(account, "notes", plan.LostAnswers, plan.HealthResult!.Description);
        }

        if (plan.Health == AccountHealth.Success)
        {
            await accounts.RecordSuccessAsync(account, batchStartedAt, CancellationToken.None);
        }

        return plan.Verdict;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery of {Count} {What} for {Account} deferred: {Failure} {Description}")]
    private partial void LogBatchDeferred(string account, string what, int count, AmoFailure failure, string description);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leads {LeadIds} of {Account} are sent again: their earlier answer was lost and amoCRM's unsorted list does not hold them (if a manager accepted one meanwhile, it is in amoCRM twice)")]
    private partial void LogResent(string account, string leadIds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up on {Count} leads of {Account} after their last error: {Description}; they are kept as failed and can be retried")]
    private partial void LogGaveUp(string account, int count, string description);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} items of {Account} were not sent: their claim ran out while they waited (for a token refresh or a rate slot) and another worker has them")]
    private partial void LogClaimLost(string account, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "amoCRM's answer for {Account} did not name {Count} of the items sent; they will be sent again")]
    private partial void LogUnmatched(string account, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The answer for {Count} {What} of {Account} was lost ({Description}); amoCRM may have them, so they are looked for before they go again")]
    private partial void LogAnswerLost(string account, string what, int count, string description);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Found} of {Count} leads of {Account} whose answer was lost were found in amoCRM and are settled without a resend")]
    private partial void LogFound(string account, int found, int count);
}
