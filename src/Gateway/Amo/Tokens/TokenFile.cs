using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Amo.Tokens;

// The PHP gateway's storage/tokens.json: {"access_token","refresh_token","expires_at","base_domain"?,"updated_at"?}.
internal static class TokenFile
{
    private const long MaxUnixSeconds = 253_402_300_799; // 9999-12-31T23:59:59Z, DateTimeOffset's limit

    public static bool TryRead(string json, out TokenPair? pair, out string? problem)
    {
        pair = null;
        problem = null;
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            problem = "the file is not valid JSON";
            return false;
        }

        if (root is not JsonObject obj)
        {
            problem = "the file must hold a JSON object";
            return false;
        }

        var access = AsString(obj["access_token"]);
        if (string.IsNullOrWhiteSpace(access))
        {
            problem = "access_token is missing";
            return false;
        }

        var refresh = AsString(obj["refresh_token"]);
        DateTimeOffset expiresAt;
        if (AsLong(obj["expires_at"]) is { } seconds)
        {
            expiresAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        }
        else if (!Jwt.TryReadExpiry(access, out expiresAt))
        {
            problem = "expires_at is missing and the access token carries no exp";
            return false;
        }

        // updated_at (Unix seconds) is when the PHP gateway last saved the pair, i.e. when its refresh token was issued.
        DateTimeOffset? issuedAt = AsLong(obj["updated_at"]) is { } updated && updated is > 0 and < MaxUnixSeconds ? DateTimeOffset.FromUnixTimeSeconds(updated) : null;
        pair = new TokenPair(access, string.IsNullOrWhiteSpace(refresh) ? null : refresh, expiresAt, AmoOptionsSetup.NormalizeHost(AsString(obj["base_domain"])), issuedAt);
        return true;
    }

    private static string? AsString(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    // Admins edit this file by hand: accept 1700000000 and "1700000000" alike.
    private static long? AsLong(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        if (value.TryGetValue<long>(out var l))
        {
            return l;
        }

        if (value.TryGetValue<double>(out var d))
        {
            return (long)d;
        }

        return value.TryGetValue<string>(out var s) && long.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
    }
}
