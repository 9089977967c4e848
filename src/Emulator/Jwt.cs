using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Emulator;

// amoCRM access tokens are RS256 JWTs a client cannot verify; only exp and api_domain are worth reading.
internal static class Jwt
{
    public const string ApiDomain = "api-b.amocrm.ru";

    public static string CreateAccessToken(string clientId, long accountId, DateTimeOffset issuedAt, DateTimeOffset expiresAt)
    {
        var payload = new JsonObject
        {
            ["aud"] = clientId,
            ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)),
            ["iat"] = issuedAt.ToUnixTimeSeconds(),
            ["nbf"] = issuedAt.ToUnixTimeSeconds(),
            ["exp"] = expiresAt.ToUnixTimeSeconds(),
            ["sub"] = "581651",
            ["grant_type"] = "",
            ["account_id"] = accountId,
            ["base_domain"] = "amocrm.ru",
            ["version"] = 2,
            ["scopes"] = new JsonArray("crm", "notifications"),
            ["api_domain"] = ApiDomain,
        };
        return string.Join(
            '.',
            Encode("""{"alg":"RS256","typ":"JWT"}"""),
            Encode(payload.ToJsonString()),
            Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(64)));
    }

    // Real refresh tokens and codes are long opaque strings starting with "def50200".
    public static string CreateRefreshToken() => "def50200" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(256));

    public static string CreateAuthorizationCode() => "def50200" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(128));

    private static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
}
