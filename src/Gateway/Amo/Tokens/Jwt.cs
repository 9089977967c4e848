using System.Buffers.Text;
using System.Text.Json;

namespace Gateway.Amo.Tokens;

// amoCRM's tokens are RS-signed JWTs we cannot verify; only `exp` is read, and only for scheduling.
internal static class Jwt
{
    public static bool TryReadExpiry(string token, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return false;
        }

        try
        {
            var payload = Base64Url.DecodeFromChars(parts[1]);
            using var doc = JsonDocument.Parse(payload);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("exp", out var exp)
                && exp.TryGetInt64(out var seconds))
            {
                expiresAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
                return true;
            }
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentOutOfRangeException)
        {
            return false;
        }

        return false;
    }
}
