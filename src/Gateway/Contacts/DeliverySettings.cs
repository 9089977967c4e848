using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Contacts;

// How a lead reaches amoCRM: "unsorted" (the unsorted list, the default) or "lead" (created in a pipeline and status
// with leads/complex), and what happens to its contact: "create" a new one, "link" an existing one found by phone or
// email, or "note_open_lead" (the found contact's open lead in the pipeline gets the submission as a note).
// From the request body's "delivery", else the key's, the source profile's or the account's defaults.
internal sealed record DeliverySettings(string Mode, long? PipelineId, long? StatusId, string Contacts)
{
    public const string Unsorted = "unsorted";
    public const string Lead = "lead";
    public const string Create = "create";
    public const string Link = "link";
    public const string NoteOpenLead = "note_open_lead";

    public static DeliverySettings Default { get; } = new(Unsorted, null, null, Create);

    public bool IsDirect => Mode == Lead;

    // bodyPipelineId: the request's own pipeline_id, which a lead-mode delivery uses when its own names none.
    // Errors go under "delivery.*" (for a file's defaults, the caller prefixes its own place).
    public static DeliverySettings? Parse(JsonNode? node, long? bodyPipelineId, Dictionary<string, string> errors, string at = "delivery")
    {
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject delivery)
        {
            errors[at] = "delivery must be an object: {\"mode\":\"unsorted\"|\"lead\",\"pipeline_id\":N,\"status_id\":N,\"contacts\":\"create\"|\"link\"|\"note_open_lead\"}";
            return null;
        }

        var count = errors.Count;
        foreach (var (key, _) in delivery)
        {
            if (key is not ("mode" or "pipeline_id" or "status_id" or "contacts"))
            {
                errors[$"{at}.{key}"] = "Unknown delivery setting (mode, pipeline_id, status_id, contacts)";
            }
        }

        var mode = Text(delivery["mode"]) ?? Unsorted;
        if (mode is not (Unsorted or Lead))
        {
            errors[at + ".mode"] = "mode must be \"unsorted\" or \"lead\"";
        }

        var contacts = Text(delivery["contacts"]) ?? Create;
        if (contacts is not (Create or Link or NoteOpenLead))
        {
            errors[at + ".contacts"] = "contacts must be \"create\", \"link\" or \"note_open_lead\"";
        }

        var pipeline = Id(delivery["pipeline_id"], at + ".pipeline_id", errors);
        var status = Id(delivery["status_id"], at + ".status_id", errors);
        if (errors.Count > count)
        {
            return null;
        }

        if (mode == Unsorted && status is not null)
        {
            errors[at + ".status_id"] = "status_id needs mode \"lead\": an unsorted item always lands in the pipeline's unsorted stage";
        }

        // shared/amocrm-api.md: unsorted items cannot link an existing contact, so linking needs a lead of its own.
        if (mode == Unsorted && contacts != Create)
        {
            errors[at + ".contacts"] = $"contacts \"{contacts}\" needs mode \"lead\": an unsorted item cannot be attached to an existing contact";
        }

        if (contacts == NoteOpenLead && (pipeline ?? bodyPipelineId) is null)
        {
            errors[at + ".pipeline_id"] = "note_open_lead needs a pipeline_id: the open lead is looked for in that pipeline";
        }

        return errors.Count > count ? null : new DeliverySettings(mode, pipeline ?? (mode == Lead ? bodyPipelineId : null), status, contacts);
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject { ["mode"] = Mode, ["contacts"] = Contacts };
        if (PipelineId is { } pipeline)
        {
            json["pipeline_id"] = pipeline;
        }

        if (StatusId is { } status)
        {
            json["status_id"] = status;
        }

        return json;
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>().Trim().ToLowerInvariant() : node is null ? null : "\0";

    private static long? Id(JsonNode? node, string key, Dictionary<string, string> errors)
    {
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<long>(out var id) && id > 0)
        {
            return id;
        }

        errors[key] = "must be a positive integer";
        return null;
    }
}
