using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Amo.Pacing;
using Gateway.Amo.Tokens;
using Gateway.Leads;
using Microsoft.Extensions.Options;

namespace Gateway.Outbox;

internal enum BatchVerdict
{
    Continue,       // the account can take the next batch at once
    Stop,           // the account is paused, unauthorized or unwell: leave the rest for later
}

// Sends claimed batches to amoCRM and settles every item: delivered, back to the queue, or failed with amoCRM's words.
internal sealed partial class LeadDelivery(
    AmoClient amo,
    AmoInfoCache info,
    LeadStore store,
    LeadOutcomes outcomes,
    AccountDeliveryState accounts,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    Observability.GatewayMetrics metrics,
    ILogger<LeadDelivery> logger)
{
    // Background work has no request id: its log lines (amoCRM calls included) name the leads instead.
    private static readonly Func<ILogger, string, IDisposable?> LeadScope = LoggerMessage.DefineScope<string>("LeadIds:{LeadIds}");

    public async Task<BatchVerdict> DeliverLeadsAsync(string account, IReadOnlyList<ClaimedLead> leads, CancellationToken cancellationToken)
    {
        using var scope = LeadScope(logger, string.Join(',', leads.Select(l => l.Id)));
        var token = leads[0].ClaimToken;
        var started = time.GetUtcNow();
        var requests = new List<(ClaimedLead Lead, UnsortedLeadRequest Request)>();
        var unreadable = new List<(long Id, string SourceUid, string Error)>();
        foreach (var lead in leads)
        {
            var errors = new Dictionary<string, string>();
            if (UnsortedLeadRequest.Parse(JsonNode.Parse(lead.Payload), errors) is { } request)
            {
                requests.Add((lead, request));
            }
            else
            {
                unreadable.Add((lead.Id, lead.SourceUid, ErrorJson(null, "stored payload no longer validates: " + string.Join("; ", errors.Values))));
            }
        }

        if (unreadable.Count > 0)
        {
            await store.MarkFailedAsync(token, unreadable.Select(u => (u.Id, u.Error)), CancellationToken.None);
            metrics.LeadsFailed(account, unreadable.Count);
            // Only once the verdict is committed: whoever is woken reads it from the row.
            foreach (var lead in unreadable)
            {
                outcomes.Complete(lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Failed));
            }
        }

        if (requests.Count == 0)
        {
            return BatchVerdict.Continue;
        }

        IReadOnlyDictionary<string, long> tracking = new Dictionary<string, long>();
        if (requests.Any(r => r.Request.Utm.Count > 0))
        {
            var fields = await info.LeadFieldsAsync(account, cancellationToken);
            if (!fields.Ok)
            {
                return await SettleFailureAsync(account, requests.Select(r => r.Lead).ToList(), fields, "leads");
            }

            tracking = LeadFields.TrackingFieldIds(fields.Body);
        }

        var mapped = requests.ToDictionary(
            r => r.Lead.SourceUid,
            r => (r.Lead, Mapped: AmoLeadMapper.Map(r.Request, r.Lead.SourceUid, tracking, DateTimeOffset.FromUnixTimeMilliseconds(r.Lead.CreatedAt), r.Lead.CallerIp)));
        var body = new JsonArray(mapped.Values.Select(m => (JsonNode)m.Mapped.Item).ToArray());
        var result = await PostClaimedAsync(account, "api/v4/leads/unsorted/forms", body, mapped.Count,
            () => store.RenewClaimAsync(token, mapped.Count, options.Value.Lease, CancellationToken.None));
        if (result is null)
        {
            return BatchVerdict.Continue;
        }

        if (!result.Ok)
        {
            return await SettleLeadFailureAsync(account, mapped.Values.Select(m => m.Lead).ToList(), result);
        }

        var delivered = new List<DeliveredLead>();
        foreach (var answer in (result.Body?["_embedded"]?["unsorted"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (AmoJson.Text(answer["request_id"]) is { } requestId && mapped.Remove(requestId, out var match))
            {
                delivered.Add(new DeliveredLead(
                    match.Lead.Id,
                    match.Lead.SourceUid,
                    AmoJson.Text(answer["uid"]) ?? "",
                    AmoJson.Long(answer["_embedded"]?["leads"]?[0]?["id"]),
                    AmoJson.Long(answer["_embedded"]?["contacts"]?[0]?["id"]),
                    answer.ToJsonString(),
                    match.Mapped.NoteText));
            }
        }

        await store.MarkDeliveredAsync(token, delivered, CancellationToken.None);
        metrics.LeadsDelivered(account, delivered.Count);
        await accounts.RecordSuccessAsync(account, started, CancellationToken.None);
        foreach (var lead in delivered)
        {
            outcomes.Complete(lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Delivered));
        }

        if (mapped.Count > 0)
        {
            // amoCRM said yes without naming these: they may exist, so a blind resend could duplicate them. A person decides.
            LogUnmatched(account, mapped.Count);
            await store.MarkFailedAsync(token, mapped.Values.Select(m => (m.Lead.Id, ErrorJson(result, Unconfirmed))).ToList(), CancellationToken.None);
            metrics.LeadsFailed(account, mapped.Count);
            foreach (var match in mapped.Values)
            {
                outcomes.Complete(match.Lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Failed));
            }
        }

        return BatchVerdict.Continue;
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

    private const string Unconfirmed = "amoCRM accepted the request but its answer did not confirm this item; it may exist in amoCRM already. Check before retrying";

    public async Task<BatchVerdict> DeliverNotesAsync(string account, IReadOnlyList<ClaimedNote> notes, CancellationToken cancellationToken)
    {
        using var scope = LeadScope(logger, string.Join(',', notes.Select(n => n.Id)));
        var token = notes[0].NoteClaimToken;
        var started = time.GetUtcNow();
        var body = new JsonArray(notes.Select(n => (JsonNode)new JsonObject
        {
            ["entity_id"] = n.AmoLeadId,
            ["note_type"] = "common",
            ["params"] = new JsonObject { ["text"] = n.NoteText },
            ["request_id"] = n.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).ToArray());
        var result = await PostClaimedAsync(account, "api/v4/leads/notes", body, notes.Count,
            () => store.RenewNoteClaimAsync(token, notes.Count, options.Value.Lease, CancellationToken.None));
        if (result is null)
        {
            return BatchVerdict.Continue;
        }

        var byRequest = notes.ToDictionary(n => n.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (result.Ok)
        {
            var settled = new List<(long, string, long?, string?, DateTimeOffset?)>();
            foreach (var answer in (result.Body?["_embedded"]?["notes"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (AmoJson.Text(answer["request_id"]) is { } requestId && byRequest.Remove(requestId, out var note))
                {
                    settled.Add((note.Id, "delivered", AmoJson.Long(answer["id"]), null, null));
                }
            }

            settled.AddRange(byRequest.Values.Select(n => (n.Id, "failed", (long?)null, (string?)Unconfirmed, (DateTimeOffset?)null)));
            await store.MarkNotesAsync(token, settled, solo: false, CancellationToken.None);
            await accounts.RecordSuccessAsync(account, started, CancellationToken.None);
            return BatchVerdict.Continue;
        }

        if (result.Failure == AmoFailure.BadRequest)
        {
            // The note's own fault: never a reason to pause the account's leads.
            var rejected = RejectedRequestIds(result);
            var named = notes.Where(n => rejected.Contains(n.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
            var error = ErrorJson(result, result.Description);
            var now = time.GetUtcNow();
            if (named.Count > 0)
            {
                await store.MarkNotesAsync(token, notes.Select(n => named.Contains(n)
                    ? (n.Id, "failed", (long?)null, (string?)error, (DateTimeOffset?)null)
                    : (n.Id, "pending", null, null, now)), solo: false, CancellationToken.None);
            }
            else if (notes.Count == 1)
            {
                await store.MarkNotesAsync(token, [(notes[0].Id, "failed", null, error, null)], solo: false, CancellationToken.None);
            }
            else
            {
                // A 400 that names no note: send each alone to find the culprit.
                await store.MarkNotesAsync(token, notes.Select(n => (n.Id, "pending", (long?)null, (string?)null, (DateTimeOffset?)now)), solo: true, CancellationToken.None);
            }

            return BatchVerdict.Continue;
        }

        var verdict = await accounts.RecordFailureAsync(account, result, CancellationToken.None);
        var retryAt = time.GetUtcNow();
        await store.MarkNotesAsync(token, notes.Select(n => verdict.CountsAgainstItems && n.NoteAttempts >= options.Value.MaxAttempts
            ? (n.Id, "failed", (long?)null, (string?)$"gave up after {n.NoteAttempts} attempts: {result.Description}", (DateTimeOffset?)null)
            : (n.Id, "pending", null, result.Description, verdict.CountsAgainstItems ? retryAt + Backoff(n.NoteAttempts) : retryAt)), solo: false, CancellationToken.None);
        return BatchVerdict.Stop;
    }

    private async Task<BatchVerdict> SettleLeadFailureAsync(string account, List<ClaimedLead> leads, AmoResult result)
    {
        var token = leads[0].ClaimToken;
        var rejected = RejectedRequestIds(result);
        var failed = leads.Where(l => rejected.Contains(l.SourceUid)).ToList();
        if (result.Failure == AmoFailure.BadRequest && failed.Count > 0)
        {
            // amoCRM named the bad items: they fail with its words, the rest go again without them.
            await store.MarkFailedAsync(token, failed.Select(l => (l.Id, ErrorJson(result, result.Description, ItemErrors(result, l.SourceUid)))), CancellationToken.None);
            metrics.LeadsFailed(account, failed.Count);
            await store.RequeueAsync(token, leads.Except(failed).Select(l => (l.Id, time.GetUtcNow())), null, countAttempt: false, solo: false, CancellationToken.None);
            foreach (var lead in failed)
            {
                outcomes.Complete(lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Failed, result with { Body = ItemBody(result, lead.SourceUid) }));
            }

            return BatchVerdict.Continue;
        }

        if (result.Failure == AmoFailure.BadRequest)
        {
            if (leads.Count == 1)
            {
                await store.MarkFailedAsync(token, [(leads[0].Id, ErrorJson(result, result.Description))], CancellationToken.None);
                metrics.LeadsFailed(account, 1);
                outcomes.Complete(leads[0].SourceUid, new LeadOutcome(LeadOutcomeKind.Failed, result));
            }
            else
            {
                // A 400 that names no item: send each alone to find the culprit.
                await store.RequeueAsync(token, leads.Select(l => (l.Id, time.GetUtcNow())), null, countAttempt: false, solo: true, CancellationToken.None);
            }

            return BatchVerdict.Continue;
        }

        return await SettleFailureAsync(account, leads, result, "leads");
    }

    // Failures of the account or of amoCRM, not of the items: back to the queue, with backoff where it is the items' turn that was spent.
    private async Task<BatchVerdict> SettleFailureAsync(string account, List<ClaimedLead> leads, AmoResult result, string what)
    {
        var token = leads[0].ClaimToken;
        var verdict = await accounts.RecordFailureAsync(account, result, CancellationToken.None);
        var now = time.GetUtcNow();
        var error = ErrorJson(result, result.Description);
        var giveUp = new List<(long, string)>();
        var again = new List<(long, DateTimeOffset)>();
        foreach (var lead in leads)
        {
            // Age counts from the last time someone queued it, so a retried dead letter gets a fresh chance.
            var tooOld = now - DateTimeOffset.FromUnixTimeMilliseconds(lead.QueuedAt) > options.Value.MaxAge;
            if (verdict.CountsAgainstItems && (lead.Attempts >= options.Value.MaxAttempts || tooOld))
            {
                giveUp.Add((lead.Id, ErrorJson(result, $"gave up after {lead.Attempts} attempts: {result.Description}")));
            }
            else
            {
                again.Add((lead.Id, verdict.CountsAgainstItems ? now + Backoff(lead.Attempts) : now));
            }
        }

        await store.RequeueAsync(token, again, error, verdict.CountsAgainstItems, solo: false, CancellationToken.None);
        if (giveUp.Count > 0)
        {
            await store.MarkFailedAsync(token, giveUp, CancellationToken.None);
            metrics.LeadsFailed(account, giveUp.Count);
            LogGaveUp(account, giveUp.Count, result.Description);
        }

        LogBatchDeferred(account, what, leads.Count, result.Failure, result.Description);
        foreach (var lead in leads)
        {
            outcomes.Complete(lead.SourceUid, new LeadOutcome(giveUp.Any(g => g.Item1 == lead.Id) ? LeadOutcomeKind.Failed : LeadOutcomeKind.Queued, result));
        }

        return BatchVerdict.Stop;
    }

    private TimeSpan Backoff(long attempts)
    {
        var seconds = Math.Min(options.Value.MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(attempts, 20)));
        return TimeSpan.FromSeconds(seconds * (0.8 + Random.Shared.NextDouble() * 0.4));
    }

    private static HashSet<string> RejectedRequestIds(AmoResult result) =>
        (result.Body?["validation-errors"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(e => AmoJson.Text(e["request_id"]))
            .Where(id => id is not null)
            .ToHashSet(StringComparer.Ordinal)!;

    private static JsonNode? ItemErrors(AmoResult result, string requestId) =>
        (result.Body?["validation-errors"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .FirstOrDefault(e => AmoJson.Text(e["request_id"]) == requestId)?.DeepClone();

    private static JsonObject? ItemBody(AmoResult result, string requestId)
    {
        if (result.Body is not JsonObject body)
        {
            return null;
        }

        var copy = body.DeepClone().AsObject();
        copy["validation-errors"] = ItemErrors(result, requestId) is { } item ? new JsonArray(item) : new JsonArray();
        return copy;
    }

    internal static string ErrorJson(AmoResult? result, string description, JsonNode? validation = null)
    {
        var error = new JsonObject
        {
            ["description"] = description,
            ["code"] = result?.Failure.ToString(),
            ["http_code"] = result?.HttpStatus,
        };
        if (validation is not null)
        {
            error["validation_errors"] = new JsonArray(validation);
        }

        return error.ToJsonString(Hosting.Envelope.Json);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery of {Count} {What} for {Account} deferred: {Failure} {Description}")]
    private partial void LogBatchDeferred(string account, string what, int count, AmoFailure failure, string description);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up on {Count} leads of {Account} after their last error: {Description}; they are kept as failed and can be retried")]
    private partial void LogGaveUp(string account, int count, string description);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} items of {Account} were not sent: their claim ran out while they waited (for a token refresh or a rate slot) and another worker has them")]
    private partial void LogClaimLost(string account, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "amoCRM's answer for {Account} did not name {Count} of the items sent; they will be sent again")]
    private partial void LogUnmatched(string account, int count);
}
