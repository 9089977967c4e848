using System.Text.Json.Nodes;
using Gateway.Amo;

namespace Gateway.Leads;

internal static class LeadFields
{
    // The account's tracking_data fields by code (UTM_SOURCE, GCLID …): where UTM values belong.
    public static Dictionary<string, long> TrackingFieldIds(JsonNode? fields)
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
                && AmoJson.Long(field["id"]) is { } fieldId)
            {
                ids.TryAdd(code.ToUpperInvariant(), fieldId);
            }
        }

        return ids;
    }
}
