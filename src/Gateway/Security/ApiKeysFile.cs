using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Security;

// Lead fields a key fills in when the request leaves them out.
// Responsible, Task: the lead body's "responsible" and "task" objects, checked when the file was read (Contacts.AssignmentSettings).
internal sealed record LeadDefaults(string? Source, long? PipelineId, IReadOnlyList<string> Tags, JsonObject? Responsible = null, JsonObject? Task = null)
{
    // A validated "delivery" object (Contacts.DeliverySettings' shape) that a body without one gets.
    public JsonObject? Delivery { get; init; }

    // A file's "delivery" default, checked as a request's would be; its problems name the file's place.
    public static JsonObject? ParseDelivery(JsonNode? node, string at, Func<string, Exception> fail)
    {
        if (node is null)
        {
            return null;
        }

        var errors = new Dictionary<string, string>();
        var settings = Contacts.DeliverySettings.Parse(node.DeepClone(), null, errors, at);
        return settings?.ToJson() ?? throw fail(string.Join("; ", errors.Select(e => e.Key + " " + e.Value)));
    }
}

internal sealed record ApiKeyEntry(
    string Name,
    byte[] Hash,
    IReadOnlyList<string>? CorsOrigins,
    int? RequestsPerMinute,
    LeadDefaults Defaults,
    string? Account,
    IReadOnlySet<string> Scopes)
{
    public const string DefaultName = "default";

    // A caller's name is its identity (a lead's owner, an idempotency space): no key may take API_KEY's or the password session's.
    public static readonly IReadOnlySet<string> ReservedNames = new HashSet<string>([DefaultName, "admin"], StringComparer.OrdinalIgnoreCase);

    public bool IsAdmin => Scopes.Contains(Security.Scopes.Admin);

    // Where the key comes from: "env" (API_KEY), "file" (API_KEYS_FILE) or "database" (created in the console).
    public string Origin { get; init; } = "file";

    // Where this key's leads' outcomes (lead.delivered, lead.failed, lead.rejected) are POSTed, signed with the secret.
    public CallbackTarget? Callback { get; init; }

    public bool AllowsOrigin(string origin) =>
        CorsOrigins is null || CorsOrigins.Any(o => o == "*" || string.Equals(o, origin, StringComparison.OrdinalIgnoreCase));
}

internal sealed record CallbackTarget(Uri Url, string Secret);

internal sealed class ApiKeysFileException(string message) : Exception(message);

// {"keys":[{"name":"website","sha256":"<64 hex>","scopes":["leads"],"cors_origins":[...],"rate_limit_per_minute":60,"source":"site","pipeline_id":1,"tags":["web"]}]}
// Strict on purpose: a typo in a security file ("cors_origin") must stop the gateway, not be ignored.
internal static class ApiKeysFile
{
    private static readonly HashSet<string> Known = ["name", "sha256", "cors_origins", "rate_limit_per_minute", "source", "pipeline_id", "tags", "account", "scopes", "callback_url", "callback_secret", "delivery", "responsible", "task"];
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 8, AllowDuplicateProperties = false, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static IReadOnlyList<ApiKeyEntry> Parse(string json, Func<string, string?> knownAccount)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: Options);
        }
        catch (JsonException ex)
        {
            throw new ApiKeysFileException($"is not valid JSON ({ex.Message})");
        }

        if (root is not JsonObject obj || obj["keys"] is not JsonArray keys || obj.Count != 1)
        {
            throw new ApiKeysFileException("must be an object with one property, \"keys\": an array of keys");
        }

        var entries = new List<ApiKeyEntry>();
        for (var i = 0; i < keys.Count; i++)
        {
            var entry = ParseEntry(keys[i], $"keys[{i}]", knownAccount);
            if (ApiKeyEntry.ReservedNames.Contains(entry.Name) || entries.Any(e => e.Name == entry.Name))
            {
                throw new ApiKeysFileException($"keys[{i}].name \"{entry.Name}\" is used twice (\"default\" is API_KEY's name, \"admin\" the admin password's)");
            }

            if (entries.Any(e => e.Hash.AsSpan().SequenceEqual(entry.Hash)))
            {
                throw new ApiKeysFileException($"keys[{i}].sha256 is the same key as an earlier entry");
            }

            entries.Add(entry);
        }

        return entries;
    }

    public static ApiKeyEntry ParseEntry(JsonNode? node, string at, Func<string, string?> knownAccount)
    {
        if (node is not JsonObject key)
        {
            throw new ApiKeysFileException($"{at} must be an object");
        }

        if (key.Select(p => p.Key).FirstOrDefault(p => !Known.Contains(p)) is { } unknown)
        {
            throw new ApiKeysFileException($"{at} has an unknown property \"{unknown}\" (known: {string.Join(", ", Known)})");
        }

        var name = Text(key, "name", at) ?? throw new ApiKeysFileException($"{at}.name is required");
        if (name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ApiKeysFileException($"{at}.name must be 1 to 64 letters, digits, '-', '_' or '.'");
        }

        var hex = Text(key, "sha256", at);
        if (hex is not { Length: 64 } || !hex.All(char.IsAsciiHexDigit))
        {
            throw new ApiKeysFileException($"{at}.sha256 must be the key's SHA-256 as 64 hex characters (never the key itself)");
        }

        IReadOnlyList<string>? origins = null;
        if (key["cors_origins"] is { } originsNode)
        {
            origins = Strings(originsNode, $"{at}.cors_origins");
            if (origins.FirstOrDefault(o => o != "*" && !IsOrigin(o)) is { } bad)
            {
                throw new ApiKeysFileException($"{at}.cors_origins has \"{bad}\", which is not \"*\" or an origin like https://example.com");
            }
        }

        int? perMinute = null;
        if (key["rate_limit_per_minute"] is { } rateNode)
        {
            perMinute = rateNode is JsonValue rv && rv.TryGetValue<int>(out var rate) && rate > 0
                ? rate
                : throw new ApiKeysFileException($"{at}.rate_limit_per_minute must be a positive whole number");
        }

        long? pipeline = null;
        if (key["pipeline_id"] is { } pipelineNode)
        {
            pipeline = pipelineNode is JsonValue pv && pv.TryGetValue<long>(out var id) && id > 0
                ? id
                : throw new ApiKeysFileException($"{at}.pipeline_id must be a positive whole number");
        }

        var source = Text(key, "source", at);
        if (source is { Length: > 1000 })
        {
            throw new ApiKeysFileException($"{at}.source must be at most 1000 characters");
        }

        var tags = key["tags"] is { } tagsNode ? Strings(tagsNode, $"{at}.tags") : [];
        // The account's domain as configured (AMO_DOMAIN or the accounts file); a key for an unknown one is a bad entry.
        var keyAccount = Text(key, "account", at) is { } named
            ? knownAccount(named) ?? throw new ApiKeysFileException($"{at}.account \"{named}\" is not a configured account (AMO_DOMAIN or a domain in the accounts file)")
            : null;

        var scopes = Scopes.DefaultFor(origins is not null);
        if (key["scopes"] is { } scopesNode)
        {
            var listed = Strings(scopesNode, $"{at}.scopes");
            if (listed.Count == 0 || !listed.All(Scopes.IsKnown))
            {
                throw new ApiKeysFileException($"{at}.scopes must list one or more of {string.Join(", ", Scopes.All)}");
            }

            scopes = new HashSet<string>(listed, StringComparer.Ordinal);
        }

        if (Contacts.AssignmentSettings.Check(key["responsible"], key["task"]) is { } assignmentProblem)
        {
            throw new ApiKeysFileException($"{at}.{assignmentProblem}");
        }

        var defaults = new LeadDefaults(source, pipeline, tags, key["responsible"]?.DeepClone().AsObject(), key["task"]?.DeepClone().AsObject())
        {
            Delivery = LeadDefaults.ParseDelivery(key["delivery"], at + ".delivery", m => new ApiKeysFileException(m)),
        };
        return new ApiKeyEntry(name, Convert.FromHexString(hex), origins, perMinute, defaults, keyAccount, scopes)
        {
            Callback = Callback(key, at),
        };
    }

    // Both or neither; the secret is what the receiver checks the signature with, so it must be hard to guess.
    private static CallbackTarget? Callback(JsonObject key, string at)
    {
        var url = Text(key, "callback_url", at);
        var secret = Text(key, "callback_secret", at);
        if (url is null && secret is null)
        {
            return null;
        }

        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || parsed.UserInfo.Length > 0)
        {
            throw new ApiKeysFileException($"{at}.callback_url must be an http(s) URL without user info (with callback_secret)");
        }

        if (secret is not { Length: >= 16 })
        {
            throw new ApiKeysFileException($"{at}.callback_secret must be at least 16 characters (with callback_url)");
        }

        return new CallbackTarget(parsed, secret);
    }

    private static string? Text(JsonObject key, string property, string at) => key[property] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) && s.Trim().Length > 0 => s.Trim(),
        _ => throw new ApiKeysFileException($"{at}.{property} must be a non-empty string"),
    };

    private static List<string> Strings(JsonNode node, string at)
    {
        if (node is not JsonArray array)
        {
            throw new ApiKeysFileException($"{at} must be an array of strings");
        }

        return array.Select(item => item is JsonValue v && v.TryGetValue<string>(out var s) && s.Trim().Length > 0
            ? s.Trim()
            : throw new ApiKeysFileException($"{at} must be an array of non-empty strings")).ToList();
    }

    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "https"
        && uri.GetLeftPart(UriPartial.Authority).Equals(value.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)
        && !value.EndsWith('/');
}
