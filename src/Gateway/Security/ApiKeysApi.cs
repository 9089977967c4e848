using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gateway.Hosting;

namespace Gateway.Security;

// /api/v1/admin/keys: the console's Keys page. A key created here is stored in the database beside API_KEYS_FILE (its
// SHA-256 only) and works on every instance within a second; its value is in the create answer and nowhere else, ever.
// API_KEY and the file's keys are listed read-only. Only an admin not bound to an account manages keys: a key bound to
// one account must not mint keys for another, nor learn their names.
internal static class ApiKeysApi
{
    private static readonly HashSet<string> Settable = ["name", "scopes", "account", "cors_origins", "rate_limit_per_minute", "source", "pipeline_id", "tags"];

    public static RouteGroupBuilder MapApiKeys(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/admin/keys").RequireScope(Scopes.Admin).WithTags("Keys");
        group.MapGet("/", ListAsync).WithSummary("Every API key (never its value or hash): API_KEY, the keys file's, the console's with their last use");
        group.MapPost("/", CreateAsync).WithSummary("Create a key (stored in the database); the answer holds the key, once");
        group.MapDelete("/{name}", RevokeAsync).WithSummary("Revoke a key created here; refused within a second on every instance");
        return group;
    }

    private static async Task<IResult> ListAsync(HttpContext context, ApiKeyRing ring, StoredApiKeys stored, CancellationToken cancellationToken)
    {
        if (BoundRefusal(context) is { } refused)
        {
            return refused;
        }

        var uses = await stored.UsesAsync(cancellationToken);
        var list = new JsonArray { (JsonNode)Describe(ring.DefaultKey, null) };
        foreach (var key in ring.Keys)
        {
            list.Add((JsonNode)Describe(key, key.Origin == StoredApiKeys.Origin ? uses.GetValueOrDefault(key.Name) : null));
        }

        return Envelope.Ok(new JsonObject { ["keys"] = list });
    }

    private static async Task<IResult> CreateAsync(HttpContext context, ApiKeyRing ring, StoredApiKeys stored, CancellationToken cancellationToken)
    {
        if (BoundRefusal(context) is { } refused)
        {
            return refused;
        }

        var body = await JsonBody.ReadAsync(context);
        if (body.Error is not null)
        {
            return body.Error;
        }

        if (body.Root is not JsonObject request)
        {
            return Invalid("The body must be one key: {\"name\": \"…\", \"scopes\": [\"leads\"], …}");
        }

        if (request.Select(p => p.Key).FirstOrDefault(p => !Settable.Contains(p)) is { } unknown)
        {
            return Invalid($"key has an unknown property \"{unknown}\" (known: {string.Join(", ", Settable)}); the key and its hash are made by the gateway");
        }

        // 32 random bytes, URL-safe, as `keys hash` makes them: fits a header, a hook's path and a .env line.
        var value = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var entry = (JsonObject)request.DeepClone();
        entry["sha256"] = Convert.ToHexStringLower(ApiKeyRing.Hash(value));
        ApiKeyEntry key;
        try
        {
            key = stored.Check(entry);
        }
        catch (ApiKeysFileException ex)
        {
            return Invalid(ex.Message);
        }

        if (ring.FileKeys.Any(k => k.Name == key.Name))
        {
            return Envelope.Fail(StatusCodes.Status409Conflict, $"API key {key.Name} exists already", new Dictionary<string, string> { ["origin"] = "file" });
        }

        if (await stored.AddAsync(entry, key, cancellationToken) == StoredKeyAdd.Exists)
        {
            return Envelope.Fail(StatusCodes.Status409Conflict, $"API key {key.Name} exists already", new Dictionary<string, string> { ["origin"] = StoredApiKeys.Origin });
        }

        var created = Describe(key with { Origin = StoredApiKeys.Origin }, null);
        created["key"] = value;
        return Envelope.Created(created, $"API key {key.Name} created; its value is shown only in this answer");
    }

    private static async Task<IResult> RevokeAsync(string name, HttpContext context, ApiKeyRing ring, StoredApiKeys stored, CancellationToken cancellationToken)
    {
        if (BoundRefusal(context) is { } refused)
        {
            return refused;
        }

        if (name == ApiKeyEntry.DefaultName || ring.FileKeys.Any(k => k.Name == name))
        {
            return Envelope.Fail(
                StatusCodes.Status409Conflict,
                $"API key {name} is configured in {(name == ApiKeyEntry.DefaultName ? ".env (API_KEY)" : "API_KEYS_FILE")}; remove it there",
                new Dictionary<string, string> { ["origin"] = name == ApiKeyEntry.DefaultName ? "env" : "file" });
        }

        return await stored.RevokeAsync(name, cancellationToken)
            ? Envelope.Ok(new JsonObject { ["name"] = name }, $"API key {name} revoked")
            : Envelope.Fail(StatusCodes.Status404NotFound, $"API key {name} not found");
    }

    private static IResult Invalid(string problem) => Envelope.ValidationFailed(new Dictionary<string, string> { ["key"] = problem });

    private static IResult? BoundRefusal(HttpContext context) =>
        ApiKeyCaller.Get(context)?.Account is not null
            ? Envelope.Fail(StatusCodes.Status403Forbidden, "Only an admin not bound to an account may manage API keys")
            : null;

    // What a key may do and fills in; never its value, its hash or a callback secret.
    private static JsonObject Describe(ApiKeyEntry key, StoredKeyUse? use) => new()
    {
        ["name"] = key.Name,
        ["origin"] = key.Origin,
        ["revocable"] = key.Origin == StoredApiKeys.Origin,
        ["scopes"] = new JsonArray([.. Scopes.All.Where(key.Scopes.Contains).Select(s => (JsonNode)s)]),
        ["account"] = key.Account,
        ["cors_origins"] = key.CorsOrigins is null ? null : new JsonArray([.. key.CorsOrigins.Select(o => (JsonNode)o)]),
        ["rate_limit_per_minute"] = key.RequestsPerMinute,
        ["defaults"] = new JsonObject
        {
            ["source"] = key.Defaults.Source,
            ["pipeline_id"] = key.Defaults.PipelineId,
            ["tags"] = new JsonArray([.. key.Defaults.Tags.Select(t => (JsonNode)t)]),
        },
        ["callback"] = key.Callback is not null,
        ["created_at"] = use?.CreatedAt.ToUnixTimeSeconds(),
        ["last_used_at"] = use?.LastUsedAt?.ToUnixTimeSeconds(),
    };
}
