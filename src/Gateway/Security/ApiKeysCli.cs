using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Gateway.Security;

// `dotnet run --project src/Gateway -- keys hash NAME`: a new random key, shown once, and the entry for the keys file.
internal static class ApiKeysCli
{
    public const string Usage = """
        Usage:
          keys hash NAME [--scopes leads,read,admin]
                             print a new random API key (once) and its entry for the API keys file
        """;

    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] == "keys";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        string[]? scopes = null;
        if (args is ["keys", "hash", _, "--scopes", var list])
        {
            scopes = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (scopes.Length == 0 || !scopes.All(Scopes.IsKnown))
            {
                await error.WriteLineAsync(Usage + $"--scopes: one or more of {string.Join(", ", Scopes.All)}, comma-separated");
                return 2;
            }

            args = args[..3];
        }

        if (args is not ["keys", "hash", var name] || name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            await error.WriteLineAsync(Usage + "NAME: 1 to 64 letters, digits, '-', '_' or '.'");
            return 2;
        }

        // 32 random bytes, URL-safe: fits a header and a .env line without quoting.
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var entry = new JsonObject { ["name"] = name, ["sha256"] = Convert.ToHexStringLower(ApiKeyRing.Hash(key)) };
        if (scopes is not null)
        {
            entry["scopes"] = new JsonArray([.. scopes.Distinct(StringComparer.Ordinal).Select(s => (JsonNode?)JsonValue.Create(s))]);
        }

        await output.WriteLineAsync($"API key for \"{name}\" (shown only now; give it to the caller, keep no copy):");
        await output.WriteLineAsync(key);
        await output.WriteLineAsync();
        await output.WriteLineAsync("Add this entry to the \"keys\" array of the API keys file (optional: scopes, cors_origins, rate_limit_per_minute, source, pipeline_id, tags; without scopes a key may create leads and read, or only create leads with cors_origins):");
        await output.WriteLineAsync(entry.ToJsonString());
        return 0;
    }
}
