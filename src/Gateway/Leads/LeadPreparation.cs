using System.Text.Json.Nodes;
using Gateway.Accounts;
using Gateway.Security;

namespace Gateway.Leads;

// What every way in (the JSON API, the form webhooks) does to a lead body before it is validated and stored: the key's
// defaults, then the account's, the phone as E.164; the stored payload then carries all of it.
internal sealed class LeadPreparation(PhoneNumbers phones)
{
    public const string PhoneNotRead = "Phone not recognised as a number, kept as typed: ";

    // fallbackSource: the source name when neither the request nor a default gives one (a form tool's name).
    public UnsortedLeadRequest? Prepare(JsonNode? root, ApiKeyEntry? key, AmoAccount account, Dictionary<string, string> errors, string? fallbackSource = null)
    {
        if (root is JsonObject body)
        {
            if (key is not null)
            {
                KeyLeadDefaults.Apply(body, key.Defaults);
            }

            // What the key left unfilled, the account's defaults fill.
            KeyLeadDefaults.Apply(body, account.Defaults);
            if (fallbackSource is not null)
            {
                body["source"] ??= fallbackSource;
            }

            NormalizePhone(body);
        }

        return UnsortedLeadRequest.Parse(root, errors);
    }

    private void NormalizePhone(JsonObject body)
    {
        if (body["contact"] is not JsonObject contact || contact["phone"] is not JsonValue value
            || value.GetValueKind() != System.Text.Json.JsonValueKind.String || value.GetValue<string>() is not { Length: > 0 } typed)
        {
            return;
        }

        if (phones.TryNormalize(typed, out var e164))
        {
            contact["phone"] = e164;
            return;
        }

        // Kept as typed (a manager can still call it), and said so in the note.
        var line = PhoneNotRead + typed.Trim();
        switch (body["comment"])
        {
            case null:
                body["comment"] = line;
                break;
            case JsonValue comment when comment.GetValueKind() == System.Text.Json.JsonValueKind.String:
                body["comment"] = comment.GetValue<string>() is { Length: > 0 } text ? text + "\n\n" + line : line;
                break;
        }
    }
}
