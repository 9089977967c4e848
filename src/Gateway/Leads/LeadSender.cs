using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Hosting;
using Gateway.Info;
using Microsoft.Extensions.Options;

namespace Gateway.Leads;

// Sends one unsorted lead and its note to amoCRM and shapes the old success body.
internal sealed class LeadSender(AmoClient amo, AmoInfoCache info, IOptions<AmoOptions> options, TimeProvider time)
{
    public const string FailedToCreate = "Failed to create lead in AmoCRM";

    public async Task<IResult> SubmitAsync(UnsortedLeadRequest request, string? callerIp)
    {
        // Once amoCRM is being written to, a caller hanging up must not leave the lead half-made.
        var cancellationToken = CancellationToken.None;
        var account = options.Value.AccountKey;
        IReadOnlyDictionary<string, long> tracking = new Dictionary<string, long>();
        if (request.Utm.Count > 0)
        {
            var fields = await info.LeadFieldsAsync(account, cancellationToken);
            if (!fields.Ok)
            {
                return AmoFailureEnvelope.ToEnvelope(fields, FailedToCreate);
            }

            tracking = TrackingFieldIds(fields.Body);
        }

        var sourceUid = Guid.NewGuid().ToString("N");
        var mapped = AmoLeadMapper.Map(request, sourceUid, tracking, time.GetUtcNow(), callerIp);
        var created = await amo.PostAsync(account, "api/v4/leads/unsorted/forms", new JsonArray(mapped.Item), cancellationToken);
        if (!created.Ok)
        {
            return AmoFailureEnvelope.ToEnvelope(created, FailedToCreate);
        }

        var unsorted = created.Body?["_embedded"]?["unsorted"]?[0] as JsonObject;
        var uid = AmoJson.Text(unsorted?["uid"]);
        var leadId = AmoJson.Long(unsorted?["_embedded"]?["leads"]?[0]?["id"]);
        var contactId = AmoJson.Long(unsorted?["_embedded"]?["contacts"]?[0]?["id"]);

        var data = new JsonObject
        {
            ["uid"] = uid,
            ["source_uid"] = sourceUid,
            ["lead_id"] = leadId,
            ["contact_id"] = contactId,
        };

        if (mapped.NoteText is { } text && leadId is { } entityId)
        {
            var note = new JsonArray(new JsonObject
            {
                ["entity_id"] = entityId,
                ["note_type"] = "common",
                ["params"] = new JsonObject { ["text"] = text },
                ["request_id"] = sourceUid,
            });
            var noted = await amo.PostAsync(account, "api/v4/leads/notes", note, cancellationToken);
            data["note_id"] = noted.Ok ? noted.Body?["_embedded"]?["notes"]?[0]?["id"]?.DeepClone() : null;
            if (!noted.Ok)
            {
                data["note_error"] = noted.Description;
            }
        }

        data["_embedded"] = new JsonObject { ["unsorted"] = new JsonArray(unsorted?.DeepClone() ?? new JsonObject { ["uid"] = uid }) };
        return Envelope.Ok(data, "Unsorted lead created successfully");
    }

    internal static Dictionary<string, long> TrackingFieldIds(JsonNode? fields)
    {
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        if (fields?["_embedded"]?["custom_fields"] is not JsonArray all)
        {
            return ids;
        }

        foreach (var field in all.OfType<JsonObject>())
        {
            if (AmoJson.Text(field["type"]) == "tracking_data"
                && AmoJson.Text(field["code"]) is { Length: > 0 } code
                && field["id"] is JsonValue id && id.TryGetValue<long>(out var fieldId))
            {
                ids.TryAdd(code.ToUpperInvariant(), fieldId);
            }
        }

        return ids;
    }
}
