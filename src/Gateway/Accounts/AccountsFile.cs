using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Amo.Tokens;
using Gateway.Security;

namespace Gateway.Accounts;

internal sealed class AccountsFileException(string message) : Exception(message);

// {"accounts":[{"domain":"ikkinchi.amocrm.ru","client_id":"…","client_secret":"…","redirect_uri":"…","base_url":"…",
//   "auth_url":"…","tokens_file":"…","long_lived_token":"…","rate_limit":7,"defaults":{"source":"…","pipeline_id":1,"tags":[]}}]}
// Strict like the keys file: a typo ("client_secert") stops the gateway instead of leaving an account without its secret.
// client_id, client_secret and redirect_uri may be left out when the account uses the .env account's integration.
internal static class AccountsFile
{
    private static readonly HashSet<string> Known = ["domain", "client_id", "client_secret", "redirect_uri", "base_url", "auth_url", "tokens_file", "long_lived_token", "rate_limit", "defaults"];
    private static readonly HashSet<string> KnownDefaults = ["source", "pipeline_id", "tags", "delivery", "responsible", "task"];
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 8, AllowDuplicateProperties = false, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static IReadOnlyList<AmoAccount> Parse(string json, AmoAccount defaultAccount, string directory)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: Options);
        }
        catch (JsonException ex)
        {
            throw new AccountsFileException($"is not valid JSON ({ex.Message})");
        }

        if (root is not JsonObject obj || obj["accounts"] is not JsonArray items || obj.Count != 1)
        {
            throw new AccountsFileException("must be an object with one property, \"accounts\": an array of accounts");
        }

        var accounts = new List<AmoAccount>();
        for (var i = 0; i < items.Count; i++)
        {
            var at = $"accounts[{i}]";
            var account = ParseEntry(items[i], at, defaultAccount, directory);
            if (account.Domain == defaultAccount.Domain || accounts.Any(a => a.Domain == account.Domain))
            {
                throw new AccountsFileException($"{at} ({account.Domain}) is listed twice (AMO_DOMAIN is the default account)");
            }

            accounts.Add(account);
        }

        return accounts;
    }

    internal static AmoAccount ParseEntry(JsonNode? node, string at, AmoAccount defaults, string directory)
    {
        if (node is not JsonObject entry)
        {
            throw new AccountsFileException($"{at} must be an object");
        }

        var domain = AmoOptionsSetup.NormalizeHost(Text(entry, "domain", at)) ?? throw new AccountsFileException($"{at}.domain is required (the account host, e.g. mycompany.amocrm.ru)");
        if (Uri.CheckHostName(domain) != UriHostNameType.Dns || !AmoHosts.IsAccountHost(domain))
        {
            throw new AccountsFileException($"{at}.domain must be an amoCRM or Kommo account host such as mycompany.amocrm.ru or mycompany.kommo.com");
        }

        // Named by its domain from here on: an operator finds "ikkinchi.amocrm.ru" faster than an index.
        at = $"{at} ({domain})";
        if (entry.Select(p => p.Key).FirstOrDefault(p => !Known.Contains(p)) is { } unknown)
        {
            throw new AccountsFileException($"{at} has an unknown property \"{unknown}\" (known: {string.Join(", ", Known)})");
        }

        var longLived = Text(entry, "long_lived_token", at);
        if (longLived is not null && !Jwt.TryReadExpiry(longLived, out _))
        {
            throw new AccountsFileException($"{at}.long_lived_token is not a JWT with an exp claim");
        }

        var clientId = Text(entry, "client_id", at) ?? defaults.ClientId;
        var clientSecret = Text(entry, "client_secret", at) ?? defaults.ClientSecret;
        var redirectUri = Text(entry, "redirect_uri", at) ?? defaults.RedirectUri;
        if (longLived is null)
        {
            if (clientId.Length == 0) throw new AccountsFileException($"{at}.client_id is required (or long_lived_token)");
            if (clientSecret.Length == 0) throw new AccountsFileException($"{at}.client_secret is required (or long_lived_token)");
            if (!Uri.TryCreate(redirectUri, UriKind.Absolute, out _)) throw new AccountsFileException($"{at}.redirect_uri must be the absolute redirect URL registered in amoCRM");
        }

        var rate = 7;
        if (entry["rate_limit"] is { } rateNode)
        {
            rate = rateNode is JsonValue rv && rv.TryGetValue<int>(out var r) && r is >= 1 and <= 50
                ? r
                : throw new AccountsFileException($"{at}.rate_limit must be a whole number between 1 and 50 requests per second");
        }

        var tokensFile = Text(entry, "tokens_file", at) is { } file ? Path.GetFullPath(file, directory) : null;
        var baseUrl = Url(entry, "base_url", at);
        return new AmoAccount(
            domain,
            clientId,
            clientSecret,
            redirectUri,
            baseUrl,
            Url(entry, "auth_url", at) ?? AmoAccount.ConsentUrlFor(domain),
            tokensFile,
            longLived,
            rate,
            Defaults(entry["defaults"], $"{at}.defaults"),
            IsDefault: false);
    }

    private static LeadDefaults Defaults(JsonNode? node, string at)
    {
        if (node is null)
        {
            return new LeadDefaults(null, null, []);
        }

        if (node is not JsonObject defaults)
        {
            throw new AccountsFileException($"{at} must be an object");
        }

        if (defaults.Select(p => p.Key).FirstOrDefault(p => !KnownDefaults.Contains(p)) is { } unknown)
        {
            throw new AccountsFileException($"{at} has an unknown property \"{unknown}\" (known: {string.Join(", ", KnownDefaults)})");
        }

        long? pipeline = null;
        // 0 is what an empty form field gives: no pipeline.
        if (defaults["pipeline_id"] is { } pipelineNode)
        {
            pipeline = pipelineNode is JsonValue pv && pv.TryGetValue<long>(out var id) && id >= 0
                ? (id == 0 ? null : id)
                : throw new AccountsFileException($"{at}.pipeline_id must be a whole number, 0 for none");
        }

        var source = Text(defaults, "source", at);
        if (source is { Length: > 1000 })
        {
            throw new AccountsFileException($"{at}.source must be at most 1000 characters");
        }

        var tags = new List<string>();
        if (defaults["tags"] is { } tagsNode)
        {
            if (tagsNode is not JsonArray array)
            {
                throw new AccountsFileException($"{at}.tags must be an array of strings");
            }

            tags.AddRange(array.Select(item => item is JsonValue v && v.TryGetValue<string>(out var s) && s.Trim().Length > 0
                ? s.Trim()
                : throw new AccountsFileException($"{at}.tags must be an array of non-empty strings")));
        }

        if (Contacts.AssignmentSettings.Check(defaults["responsible"], defaults["task"]) is { } assignmentProblem)
        {
            throw new AccountsFileException($"{at}.{assignmentProblem}");
        }

        return new LeadDefaults(source, pipeline, tags, defaults["responsible"]?.DeepClone().AsObject(), defaults["task"]?.DeepClone().AsObject())
        {
            Delivery = LeadDefaults.ParseDelivery(defaults["delivery"], at + ".delivery", m => new AccountsFileException(m)),
        };
    }

    private static Uri? Url(JsonObject entry, string property, string at)
    {
        if (Text(entry, property, at) is not { } raw)
        {
            return null;
        }

        return Uri.TryCreate(raw.TrimEnd('/'), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new AccountsFileException($"{at}.{property} must be an absolute http(s) URL");
    }

    private static string? Text(JsonObject entry, string property, string at) => entry[property] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) && s.Trim().Length > 0 => s.Trim(),
        _ => throw new AccountsFileException($"{at}.{property} must be a non-empty string"),
    };
}
