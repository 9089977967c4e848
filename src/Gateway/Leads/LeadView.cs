using System.Text.Json.Nodes;
using Gateway.Outbox;

namespace Gateway.Leads;

// Every shape in which a stored lead is shown: the leads API's, and the intake's answers (first request and repeats).
internal static class LeadView
{
    // GET /api/v1/leads/{id} and the list: the row as the outbox knows it, times in Unix seconds.
    public static JsonObject Describe(LeadRow row) => WithSteps(row, new JsonObject
    {
        ["id"] = row.Id,
        ["status"] = row.Status,
        ["attempts"] = row.Attempts,
        ["last_error"] = row.LastError is null ? null : JsonNode.Parse(row.LastError),
        ["source_uid"] = row.SourceUid,
        ["uid"] = row.AmoUid,
        ["lead_id"] = row.AmoLeadId,
        ["contact_id"] = row.AmoContactId,
        ["note_status"] = row.NoteStatus,
        ["note_id"] = row.NoteId,
        ["note_error"] = row.NoteError,
        ["created_at"] = row.CreatedAt.ToUnixTimeSeconds(),
        ["updated_at"] = row.UpdatedAt.ToUnixTimeSeconds(),
        ["delivered_at"] = row.DeliveredAt?.ToUnixTimeSeconds(),
        ["next_attempt_at"] = row.Status == LeadStatus.Queued ? row.NextAttemptAt.ToUnixTimeSeconds() : null,
        ["trace_id"] = Observability.GatewayTracing.TraceId(row.TraceParent),
    });

    // Lead mode's steps, once it has any (additive: an unsorted lead's shape is unchanged). target_lead_id is the amoCRM
    // lead the submission went to (created, or the open lead noted on); contact_responsible_user_id the found contact's.
    private static JsonObject WithSteps(LeadRow row, JsonObject view)
    {
        if (row.Steps.StepsJson is null)
        {
            return view;
        }

        var steps = row.Steps.List;
        if (row.NoteStatus is { } note)
        {
            steps.Add((JsonNode)new JsonObject { ["step"] = "note", ["outcome"] = note, ["note_id"] = row.NoteId });
        }

        view["delivery"] = new JsonObject
        {
            ["contact_resolved"] = row.Steps.ContactResolved,
            ["linked_contact_id"] = row.Steps.LinkedContactId,
            ["contact_responsible_user_id"] = row.Steps.ContactResponsibleUserId,
            ["target_lead_id"] = row.Steps.TargetLeadId,
            ["steps"] = steps,
        };
        return view;
    }

    public static JsonObject Queued(long id, string sourceUid) => new()
    {
        ["id"] = id,
        ["status"] = LeadStatus.Queued,
        ["source_uid"] = sourceUid,
    };

    // Both shapes old callers read: uid/source_uid on top and amoCRM's own _embedded.unsorted[0].
    public static JsonObject Delivered(LeadRow row) => new()
    {
        ["id"] = row.Id,
        ["status"] = row.Status,
        ["uid"] = row.AmoUid,
        ["source_uid"] = row.SourceUid,
        ["lead_id"] = row.AmoLeadId,
        ["contact_id"] = row.AmoContactId,
        ["note_status"] = row.NoteStatus,
        ["_embedded"] = new JsonObject
        {
            ["unsorted"] = new JsonArray(row.AmoAnswer is null ? new JsonObject { ["uid"] = row.AmoUid } : JsonNode.Parse(row.AmoAnswer)),
        },
    };

    // amoCRM's words on a lead that failed, as stored in last_error.
    public static JsonObject Failed(LeadRow row, string error)
    {
        var stored = row.LastError is null ? new JsonObject() : JsonNode.Parse(row.LastError)!.AsObject();
        return new JsonObject
        {
            ["id"] = row.Id,
            ["status"] = row.Status,
            ["error"] = error,
            ["description"] = stored["description"]?.DeepClone(),
            ["code"] = stored["code"]?.DeepClone(),
            ["http_code"] = stored["http_code"]?.DeepClone(),
            ["validation_errors"] = stored["validation_errors"]?.DeepClone(),
        };
    }
}
