using System.Text.Json.Nodes;
using Gateway.Outbox;
using Gateway.Security;

namespace Gateway.Leads;

// What the console's search compares: the blind indexes of a lead's contact (phone as E.164, email lower-cased, name
// normalised), made the same way from a stored payload at intake and from what an admin types into the search.
internal sealed class LeadSearchIndex(PersonalData personalData, PhoneNumbers phones)
{
    // The body as it is stored (after LeadPreparation), read from the parsed body the caller holds rather than parsed
    // again from the stored text; null when it has no contact to index.
    public LeadSearchKeys? KeysOf(JsonNode body)
    {
        if (body is not JsonObject root || root["contact"] is not JsonObject c)
        {
            return null;
        }

        var keys = new LeadSearchKeys(Phone(Text(c["phone"])), Email(Text(c["email"])), Name(Text(c["name"])));
        return keys is { Phone: null, Email: null, Name: null } ? null : keys;
    }

    public string? Phone(string? typed)
    {
        if (string.IsNullOrWhiteSpace(typed))
        {
            return null;
        }

        var number = phones.TryNormalize(typed, out var e164) ? e164 : typed;
        return number.Any(char.IsAsciiDigit) ? personalData.BlindIndex(BlindIndexField.Phone, number) : null;
    }

    public string? Email(string? typed) =>
        string.IsNullOrWhiteSpace(typed) ? null : personalData.BlindIndex(BlindIndexField.Email, typed);

    public string? Name(string? typed) =>
        string.IsNullOrWhiteSpace(typed) ? null : personalData.BlindIndex(BlindIndexField.Name, typed);

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
