using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Outbox;

namespace Gateway.Events;

// lead.delivered and lead.failed, from the settled rows: the caller's key (for its callback), amoCRM's ids, the reason;
// name, phone and source from the stored payload (for a chat's "new lead" message; sealed at rest like the lead).
internal sealed partial class LeadOutcomeEvents(LeadStore leads, IGatewayEvents events, TimeProvider time, ILogger<LeadOutcomeEvents> logger) : ILeadSettlementSink
{
    // A settlement's own publishing is done within moments of its commit; a mark older than this was left by a crash.
    internal static readonly TimeSpan OwedAfter = TimeSpan.FromSeconds(30);

    // No callback and no subscription for lead outcomes: rows are not marked, not even read.
    public bool Wants(string account, LeadOutcomeKind outcome) => outcome switch
    {
        LeadOutcomeKind.Delivered => events.AnyoneListens(account, EventTypes.LeadDelivered),
        LeadOutcomeKind.Failed => events.AnyoneListens(account, EventTypes.LeadFailed),
        _ => false,
    };

    public async Task SettledAsync(string account, IReadOnlyList<long> delivered, IReadOnlyList<long> failed, CancellationToken cancellationToken)
    {
        try
        {
            await PublishAsync(account, [.. delivered, .. failed], cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The lead is settled whatever happens here, and still marked as owing its event: the sweep stores it later.
            LogNotPublished(ex, account, string.Join(',', delivered.Concat(failed)));
        }
    }

    // The events a crash (or a database that refused them) kept from being stored after their settlement. An event's id
    // is derived from its lead, so one stored twice (two instances sweeping, a sweep racing a slow settlement) is one.
    public async Task<int> SweepOwedAsync(CancellationToken cancellationToken)
    {
        var owed = await leads.OwedAnnouncementsAsync(time.GetUtcNow() - OwedAfter, 500, cancellationToken);
        foreach (var account in owed.GroupBy(o => o.Account, StringComparer.Ordinal))
        {
            try
            {
                await PublishAsync(account.Key, [.. account.Select(o => o.Id)], cancellationToken);
                LogOwedPublished(account.Key, account.Count());
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogNotPublished(ex, account.Key, string.Join(',', account.Select(o => o.Id)));
            }
        }

        return owed.Count;
    }

    private async Task PublishAsync(string account, IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        foreach (var (row, payload) in await leads.SettledAsync(account, ids, cancellationToken))
        {
            var type = row.Status switch
            {
                LeadStatus.Delivered => EventTypes.LeadDelivered,
                LeadStatus.Failed => EventTypes.LeadFailed,
                _ => null,
            };
            if (type is null)
            {
                continue;
            }

            var data = new JsonObject
            {
                ["lead_id"] = row.Id,
                ["source_uid"] = row.SourceUid,
                ["key"] = row.IdempotencyScope,
            };
            AddPayload(data, payload);
            if (type == EventTypes.LeadDelivered)
            {
                data["amo_uid"] = row.AmoUid;
                data["amo_lead_id"] = row.AmoLeadId;
                data["amo_contact_id"] = row.AmoContactId;
            }
            else
            {
                data["reason"] = Reason(row.LastError);
            }

            await events.PublishAsync(new GatewayEvent(GatewayEvent.IdFor(account, type, row.SourceUid), account, type, row.DeliveredAt ?? row.UpdatedAt, data), cancellationToken);
        }

        // Every row asked about is settled now, stored or not wanted (a row gone or requeued by a retry owes nothing).
        await leads.AnnouncedAsync(ids, cancellationToken);
    }

    private static void AddPayload(JsonObject data, string? payload)
    {
        JsonNode? body = null;
        try
        {
            body = payload is null ? null : JsonNode.Parse(payload);
        }
        catch (JsonException)
        {
        }

        data["name"] = Text(body?["contact"]?["name"]) ?? Text(body?["lead"]?["name"]);
        data["phone"] = Text(body?["contact"]?["phone"]);
        data["email"] = Text(body?["contact"]?["email"]);
        data["source"] = Text(body?["source"]);
        data["pipeline_id"] = body?["pipeline_id"] is JsonValue p && p.TryGetValue<long>(out var pipeline) ? pipeline : null;
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static JsonNode? Reason(string? lastError)
    {
        if (lastError is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(lastError) is JsonObject error ? error : lastError;
        }
        catch (JsonException)
        {
            return lastError;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Events owed for {Count} settled leads of {Account} since before a stop are stored now")]
    private partial void LogOwedPublished(string account, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Events for the settled leads {LeadIds} of {Account} could not be stored (they are stored by a later sweep)")]
    private partial void LogNotPublished(Exception exception, string account, string leadIds);
}

// Stores the lead.* events a stop between a settlement's commit and its event's commit left owed: at start-up, then
// every OwedAfter (a mark younger than that belongs to a settlement still publishing).
internal sealed partial class OwedEventsSweep(IEnumerable<ILeadSettlementSink> sinks, TimeProvider time, ILogger<OwedEventsSweep> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outcomes = sinks.OfType<LeadOutcomeEvents>().Single();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // A full page: more are owed, go on at once.
                if (await outcomes.SweepOwedAsync(stoppingToken) == 500)
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                LogSweepFailed(ex.GetType().Name);
            }

            try
            {
                await Task.Delay(LeadOutcomeEvents.OwedAfter, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The sweep for owed lead events failed ({Error}); it runs again shortly")]
    private partial void LogSweepFailed(string error);
}
