using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Outbox;

namespace Gateway.Events;

// lead.delivered and lead.failed, from the settled rows: the caller's key (for its callback), amoCRM's ids, the reason;
// name, phone and source from the stored payload (for a chat's "new lead" message; sealed at rest like the lead).
internal sealed partial class LeadOutcomeEvents(LeadStore leads, IGatewayEvents events, ILogger<LeadOutcomeEvents> logger) : ILeadSettlementSink
{
    public async Task SettledAsync(string account, IReadOnlyList<long> delivered, IReadOnlyList<long> failed, CancellationToken cancellationToken)
    {
        // No callback and no subscription for lead outcomes: not even the read of the settled rows.
        if ((delivered.Count == 0 || !events.AnyoneListens(account, EventTypes.LeadDelivered))
            && (failed.Count == 0 || !events.AnyoneListens(account, EventTypes.LeadFailed)))
        {
            return;
        }

        try
        {
            foreach (var (row, payload) in await leads.SettledAsync(account, [.. delivered, .. failed], cancellationToken))
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
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The lead is settled whatever happens here; an event that could not be stored is said once, by id.
            LogNotPublished(ex, account, string.Join(',', delivered.Concat(failed)));
        }
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Events for the settled leads {LeadIds} of {Account} could not be stored")]
    private partial void LogNotPublished(Exception exception, string account, string leadIds);
}
