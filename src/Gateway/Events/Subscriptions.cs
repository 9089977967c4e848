using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Events;

internal sealed record Subscription(
    string Name,
    string? Account,
    IReadOnlyList<string> Events,
    IReadOnlyDictionary<string, IReadOnlySet<string>> Filter,
    Uri? Url,
    string? Secret,
    string? TelegramChatId,
    string Language,
    bool Fetch = false)
{
    public bool Matches(GatewayEvent e) =>
        Wants(e.Account, e.Type) && Filter.All(f => ValueOf(e.Data, f.Key) is { } value && f.Value.Contains(value));

    // The account and the type, before any filter.
    public bool Wants(string account, string type) =>
        (Account is null || string.Equals(Account, account, StringComparison.OrdinalIgnoreCase))
        && Events.Any(pattern => pattern == "*" || pattern == type || (pattern.EndsWith(".*", StringComparison.Ordinal) && type.StartsWith(pattern[..^1], StringComparison.Ordinal)));

    private static string? ValueOf(JsonObject data, string key) => data[key] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<long>(out var l) => l.ToString(CultureInfo.InvariantCulture),
        JsonValue v => v.ToJsonString(),
        _ => null,
    };
}

internal sealed class SubscriptionsFileException(string message) : Exception(message);

// {"subscriptions":[{"name":"sales","events":["amocrm.lead.status_changed"],"filter":{"pipeline_id":[1]},"telegram_chat_id":"-100…","language":"uz"},
//                   {"name":"erp","events":["lead.*","amocrm.*"],"url":"https://erp.example/hook","secret":"…"}]}
// Strict like the keys file: a typo ("filters") stops start-up, or on a rewrite keeps the subscriptions in use.
internal static class SubscriptionsFile
{
    public static readonly IReadOnlyList<string> FilterKeys = ["pipeline_id", "status_id", "responsible_user_id", "source"];
    private static readonly HashSet<string> Known = ["name", "account", "events", "filter", "url", "secret", "telegram_chat_id", "language", "fetch"];
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 8, AllowDuplicateProperties = false, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static IReadOnlyList<Subscription> Parse(string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: Options);
        }
        catch (JsonException ex)
        {
            throw new SubscriptionsFileException($"is not valid JSON ({ex.Message})");
        }

        if (root is not JsonObject obj || obj["subscriptions"] is not JsonArray list || obj.Count != 1)
        {
            throw new SubscriptionsFileException("must be an object with one property, \"subscriptions\": an array");
        }

        var result = new List<Subscription>();
        for (var i = 0; i < list.Count; i++)
        {
            var entry = ParseEntry(list[i], $"subscriptions[{i}]");
            if (result.Any(s => s.Name == entry.Name))
            {
                throw new SubscriptionsFileException($"subscriptions[{i}].name \"{entry.Name}\" is used twice");
            }

            result.Add(entry);
        }

        return result;
    }

    private static Subscription ParseEntry(JsonNode? node, string at)
    {
        if (node is not JsonObject s)
        {
            throw new SubscriptionsFileException($"{at} must be an object");
        }

        if (s.Select(p => p.Key).FirstOrDefault(p => !Known.Contains(p)) is { } unknown)
        {
            throw new SubscriptionsFileException($"{at} has an unknown property \"{unknown}\" (known: {string.Join(", ", Known)})");
        }

        var name = Text(s, "name", at) ?? throw new SubscriptionsFileException($"{at}.name is required");
        if (name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new SubscriptionsFileException($"{at}.name must be 1 to 64 letters, digits, '-', '_' or '.'");
        }

        var events = s["events"] is JsonArray e ? Strings(e, $"{at}.events") : throw new SubscriptionsFileException($"{at}.events must be an array of event types (\"amocrm.lead.status_changed\", \"lead.*\", \"*\")");
        if (events.Count == 0)
        {
            throw new SubscriptionsFileException($"{at}.events must name at least one event type");
        }

        var filter = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        if (s["filter"] is { } filterNode)
        {
            if (filterNode is not JsonObject f)
            {
                throw new SubscriptionsFileException($"{at}.filter must be an object");
            }

            foreach (var (key, values) in f)
            {
                if (!FilterKeys.Contains(key))
                {
                    throw new SubscriptionsFileException($"{at}.filter has an unknown key \"{key}\" (known: {string.Join(", ", FilterKeys)})");
                }

                if (values is not JsonArray { Count: > 0 } array)
                {
                    throw new SubscriptionsFileException($"{at}.filter.{key} must be a non-empty array");
                }

                filter[key] = array.Select(v => v switch
                {
                    JsonValue sv when sv.TryGetValue<string>(out var text) && text.Length > 0 => text,
                    JsonValue nv when nv.TryGetValue<long>(out var number) => number.ToString(CultureInfo.InvariantCulture),
                    _ => throw new SubscriptionsFileException($"{at}.filter.{key} must hold strings or whole numbers"),
                }).ToHashSet(StringComparer.Ordinal);
            }
        }

        Uri? url = null;
        if (Text(s, "url", at) is { } rawUrl)
        {
            url = Uri.TryCreate(rawUrl, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"
                ? parsed
                : throw new SubscriptionsFileException($"{at}.url must be an http(s) URL");
        }

        var chat = s["telegram_chat_id"] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<long>(out var id) => id.ToString(CultureInfo.InvariantCulture),
            JsonValue v when v.TryGetValue<string>(out var text) && (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) || text.StartsWith('@')) => text,
            _ => throw new SubscriptionsFileException($"{at}.telegram_chat_id must be a chat id (a number, \"-100…\" for a group) or \"@channel\""),
        };
        if ((url is null) == (chat is null))
        {
            throw new SubscriptionsFileException($"{at} needs exactly one destination: \"url\" or \"telegram_chat_id\"");
        }

        var secret = Text(s, "secret", at);
        if (secret is { Length: < 16 })
        {
            throw new SubscriptionsFileException($"{at}.secret must be at least 16 characters");
        }

        var language = Text(s, "language", at) ?? "en";
        if (!TelegramTemplates.Languages.Contains(language))
        {
            throw new SubscriptionsFileException($"{at}.language must be one of {string.Join(", ", TelegramTemplates.Languages)}");
        }

        var fetch = s["fetch"] switch
        {
            null => false,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            _ => throw new SubscriptionsFileException($"{at}.fetch must be true or false"),
        };
        if (fetch && url is null)
        {
            throw new SubscriptionsFileException($"{at}.fetch is for \"url\" subscriptions (a chat's message does not show the entity)");
        }

        return new Subscription(name, Text(s, "account", at)?.ToLowerInvariant(), events, filter, url, secret, chat, language, fetch);
    }

    private static string? Text(JsonObject o, string property, string at) => o[property] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) && s.Trim().Length > 0 => s.Trim(),
        _ => throw new SubscriptionsFileException($"{at}.{property} must be a non-empty string"),
    };

    private static List<string> Strings(JsonArray array, string at) =>
        array.Select(item => item is JsonValue v && v.TryGetValue<string>(out var s) && s.Trim().Length > 0
            ? s.Trim()
            : throw new SubscriptionsFileException($"{at} must be an array of non-empty strings")).ToList();
}

// SUBSCRIPTIONS_FILE, re-read when it changes (at most one stat a second, on the dispatcher's path).
internal sealed partial class SubscriptionRegistry : IWatchedFileReader<IReadOnlyList<Subscription>>
{
    private readonly WatchedFile<IReadOnlyList<Subscription>>? file;
    private readonly ILogger<SubscriptionRegistry> logger;

    public SubscriptionRegistry(IOptions<EventsOptions> options, TimeProvider time, ILogger<SubscriptionRegistry> logger)
    {
        this.logger = logger;
        if (options.Value.SubscriptionsFile is { } path)
        {
            file = new WatchedFile<IReadOnlyList<Subscription>>("SUBSCRIPTIONS_FILE", Path.GetFullPath(path), required: false, [], this, time);
        }
    }

    public IReadOnlyList<Subscription> Current => file?.Current ?? [];

    public IReadOnlyList<Subscription> Parse(string text) => SubscriptionsFile.Parse(text);

    public bool IsBadFile(Exception exception) => exception is SubscriptionsFileException;

    public void Loaded(IReadOnlyList<Subscription> value) => LogLoaded(value.Count);

    public void Removed() => LogRemoved();

    public void ReloadFailed(string problem, IReadOnlyList<Subscription> kept) => LogReloadFailed(problem, kept.Count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscriptions file loaded: {Count} subscriptions")]
    private partial void LogLoaded(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscriptions file removed: no subscriptions until it is back")]
    private partial void LogRemoved();

    [LoggerMessage(Level = LogLevel.Error, Message = "Subscriptions file not reloaded ({Problem}); keeping the {Count} subscriptions in use")]
    private partial void LogReloadFailed(string problem, int count);
}
