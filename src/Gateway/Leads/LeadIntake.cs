using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Hosting;
using Gateway.Outbox;
using Gateway.Security;
using Microsoft.Extensions.Options;

namespace Gateway.Leads;

// Stored first, then delivered: the row is committed before amoCRM hears of the lead.
internal sealed class LeadIntake(IntakeWriter writer, LeadStore store, PersonalData personalData, LeadSearchIndex searchIndex, LeadOutcomes outcomes, IOptions<OutboxOptions> options, TimeProvider time, Observability.GatewayMetrics metrics)
{
    public const string Created = "Unsorted lead created successfully";
    public const string Queued = "Lead accepted and queued for delivery";

    public async Task<IResult> SubmitAsync(string account, JsonNode body, string? callerIp, string? idempotencyScope, string? idempotencyKey, CancellationToken requestAborted)
    {
        var payload = body.ToJsonString();
        // The lead's trace: its traceparent is stored with the row, so every later attempt, on any instance, joins it.
        using var span = Observability.GatewayTracing.Leads.StartActivity("leads.intake");
        span?.SetTag("gateway.account", account);
        var traceParent = Observability.GatewayTracing.TraceParent();
        var hash = idempotencyKey is null ? null : personalData.RequestHash(payload);
        var sourceUid = Guid.NewGuid().ToString("N");

        // Behind a backlog (or with no usable token) the answer is 202 anyway: skip the wait and the read-back.
        var backlogged = outcomes.IsBacklogged(account);

        // Registered before the insert: the dispatcher may finish the first attempt before this line would run again.
        var outcome = backlogged ? null : outcomes.Register(account, sourceUid);
        InsertedLead inserted;
        try
        {
            using var storing = Observability.GatewayTracing.Outbox.StartActivity("outbox.store");
            inserted = await writer.WriteAsync(new NewLead(account, sourceUid, payload, callerIp, idempotencyScope, idempotencyKey, hash, traceParent, searchIndex.KeysOf(body)));
        }
        catch
        {
            outcomes.Forget(sourceUid);
            throw;
        }

        span?.SetTag("gateway.lead.id", inserted.Id);
        span?.SetTag("gateway.lead.existing", inserted.Existing);
        if (!inserted.Existing)
        {
            metrics.LeadAccepted(account);
        }

        if (inserted.Existing)
        {
            outcomes.Forget(sourceUid);
            if (!personalData.IsSameRequest(inserted.RequestHash, payload))
            {
                return Envelope.Fail(StatusCodes.Status422UnprocessableEntity, "Idempotency key conflict",
                    new Dictionary<string, string> { ["Idempotency-Key"] = "This key was already used with a different request body" });
            }

            return await AnswerOrQueuedAsync(account, inserted.Id, sourceUid, requestAborted);
        }

        if (outcome is null)
        {
            return QueuedAnswer(inserted.Id, sourceUid);
        }

        try
        {
            var result = await outcome.WaitAsync(options.Value.IntakeWait, time, requestAborted);
            if (result.Kind == LeadOutcomeKind.Queued)
            {
                return QueuedAnswer(inserted.Id, sourceUid);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            outcomes.Forget(sourceUid);
        }

        return await AnswerOrQueuedAsync(account, inserted.Id, sourceUid, CancellationToken.None);
    }

    // Stored and queued, no wait for amoCRM: a form tool must hear back within seconds whatever amoCRM is doing.
    public async Task<StoredLead> StoreAsync(string account, JsonNode body, string? callerIp, string? idempotencyScope, string? idempotencyKey)
    {
        var payload = body.ToJsonString();
        using var span = Observability.GatewayTracing.Leads.StartActivity("leads.intake");
        span?.SetTag("gateway.account", account);
        var hash = idempotencyKey is null ? null : personalData.RequestHash(payload);
        InsertedLead inserted;
        using (Observability.GatewayTracing.Outbox.StartActivity("outbox.store"))
        {
            inserted = await writer.WriteAsync(new NewLead(account, Guid.NewGuid().ToString("N"), payload, callerIp, idempotencyScope, idempotencyKey, hash, Observability.GatewayTracing.TraceParent(), searchIndex.KeysOf(body)));
        }

        span?.SetTag("gateway.lead.id", inserted.Id);
        span?.SetTag("gateway.lead.existing", inserted.Existing);
        if (!inserted.Existing)
        {
            metrics.LeadAccepted(account);
        }

        return new StoredLead(inserted.Id, inserted.Existing, inserted.Existing && !personalData.IsSameRequest(inserted.RequestHash, payload));
    }

    // The lead is committed: a database hiccup on the read-back must not turn into "retry", which would store it twice.
    private async Task<IResult> AnswerOrQueuedAsync(string account, long id, string sourceUid, CancellationToken cancellationToken)
    {
        try
        {
            return await AnswerAsync(account, id, cancellationToken);
        }
        catch (System.Data.Common.DbException)
        {
            return QueuedAnswer(id, sourceUid);
        }
    }

    private static IResult QueuedAnswer(long id, string sourceUid) =>
        Envelope.Accepted(LeadView.Queued(id, sourceUid), Queued);

    // The same answer for the first request and for any repeat with its idempotency key: what the row says now.
    public async Task<IResult> AnswerAsync(string account, long id, CancellationToken cancellationToken)
    {
        var row = (await store.GetAsync(account, id, cancellationToken))!;
        switch (row.Status)
        {
            case LeadStatus.Delivered:
                return Envelope.Ok(LeadView.Delivered(row), Created);
            case LeadStatus.Failed:
                var failure = LeadView.Failed(row, "Failed to create lead in AmoCRM");
                // Only amoCRM's verdict on the lead itself is passed on as 400; a lead given up after 429s or 5xx must not invite endless retries.
                var status = AmoJson.Long(failure["http_code"]) == 400 ? StatusCodes.Status400BadRequest : StatusCodes.Status422UnprocessableEntity;
                return Envelope.Fail(status, "Failed to create lead in AmoCRM", failure);
            default:
                return QueuedAnswer(row.Id, row.SourceUid);
        }
    }
}

// Conflict: the idempotency key was used before with another body; the first lead stands.
internal sealed record StoredLead(long Id, bool Existing, bool Conflict);
