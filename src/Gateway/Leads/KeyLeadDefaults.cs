using System.Text.Json.Nodes;
using Gateway.Security;

namespace Gateway.Leads;

// A key's source, pipeline and tags fill what the request left out; the stored payload then carries them, so delivery needs no key.
internal static class KeyLeadDefaults
{
    public static void Apply(JsonObject body, LeadDefaults defaults)
    {
        if (defaults.Source is { } source && body["source"] is null)
        {
            body["source"] = source;
        }

        if (defaults.PipelineId is { } pipeline && body["pipeline_id"] is null)
        {
            body["pipeline_id"] = pipeline;
        }

        if (defaults.Delivery is { } delivery && body["delivery"] is null)
        {
            body["delivery"] = delivery.DeepClone();
        }

        if (defaults.Responsible is { } responsible && body["responsible"] is null)
        {
            body["responsible"] = responsible.DeepClone();
        }

        if (defaults.Task is { } task && body["task"] is null)
        {
            body["task"] = task.DeepClone();
        }

        if (defaults.Tags.Count > 0 && body["lead"] is JsonObject lead && lead["tags"] is null or JsonArray { Count: 0 })
        {
            lead["tags"] = new JsonArray([.. defaults.Tags.Select(t => (JsonNode)JsonValue.Create(t))]);
        }
    }
}
