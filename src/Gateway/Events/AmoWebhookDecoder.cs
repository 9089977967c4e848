using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Primitives;

namespace Gateway.Events;

internal sealed class AmoWebhookFormatException(string message) : Exception(message);

// amoCRM's webhooks are the old v2 form: leads[status][0][id]=1&leads[status][0][status_id]=142&account[subdomain]=x.
// Each entity of each action becomes one event: amocrm.<entity>.<what happened>, its fields as JSON (ids as numbers,
// custom_fields as an array), plus the account's subdomain and id.
internal static class AmoWebhookDecoder
{
    public const string LeadAdded = "amocrm.lead.added";
    public const string LeadStatusChanged = "amocrm.lead.status_changed";
    public const string LeadResponsibleChanged = "amocrm.lead.responsible_changed";
    public const string ContactAdded = "amocrm.contact.added";
    public const string NoteAdded = "amocrm.note.added";

    private const int MaxKeys = 10_000;
    private const int MaxDepth = 8;

    private static readonly Dictionary<string, string> Entities = new(StringComparer.Ordinal)
    {
        ["leads"] = "lead",
        ["contacts"] = "contact",
        ["companies"] = "company",
        ["customers"] = "customer",
        ["tasks"] = "task",
        ["catalogs"] = "catalog_element",
        ["unsorted"] = "unsorted",
    };

    private static readonly Dictionary<string, string> Actions = new(StringComparer.Ordinal)
    {
        ["add"] = "added",
        ["update"] = "updated",
        ["delete"] = "deleted",
        ["restore"] = "restored",
        ["status"] = "status_changed",
        ["responsible"] = "responsible_changed",
        ["note"] = "note_added",
    };

    private static readonly HashSet<string> Numbers = new(StringComparer.Ordinal)
    {
        "id", "status_id", "old_status_id", "pipeline_id", "old_pipeline_id", "responsible_user_id", "old_responsible_user_id",
        "price", "created_user_id", "modified_user_id", "account_id", "element_id", "element_type", "note_type", "date_create",
        "last_modified", "created_at", "updated_at", "group_id", "main_user_id", "linked_company_id",
    };

    public static IReadOnlyList<GatewayEvent> Decode(string account, IReadOnlyList<KeyValuePair<string, StringValues>> form, DateTimeOffset receivedAt)
    {
        if (form.Count > MaxKeys)
        {
            throw new AmoWebhookFormatException($"has more than {MaxKeys} fields");
        }

        var root = new JsonObject();
        foreach (var (key, values) in form)
        {
            Put(root, Path(key), values.Count > 0 ? values[^1] ?? "" : "");
        }

        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('&', form.Select(p => p.Key + "=" + p.Value.ToString())))));
        var amoAccount = root["account"] as JsonObject;
        var events = new List<GatewayEvent>();
        foreach (var (entityKey, actions) in root)
        {
            if (!Entities.TryGetValue(entityKey, out var entity) || actions is not JsonObject byAction)
            {
                continue;
            }

            foreach (var (actionKey, items) in byAction)
            {
                if (!Actions.TryGetValue(actionKey, out var action) || items is not JsonObject byIndex)
                {
                    continue;
                }

                foreach (var (index, item) in byIndex.OrderBy(i => int.TryParse(i.Key, out var n) ? n : int.MaxValue))
                {
                    if (item is not JsonObject fields)
                    {
                        continue;
                    }

                    var type = TypeOf(entity, action, fields);
                    var data = Normalise(action == "note_added" && fields["note"] is JsonObject note ? note : fields);
                    if (action == "note_added")
                    {
                        data["entity"] = entity;
                    }

                    data["subdomain"] = amoAccount?["subdomain"]?.DeepClone();
                    data["account_id"] = amoAccount?["id"] is JsonValue idValue && long.TryParse(idValue.GetValue<string>(), CultureInfo.InvariantCulture, out var amoId) ? amoId : null;
                    var occurred = data["last_modified"] is JsonValue lm && lm.TryGetValue<long>(out var seconds) && seconds > 0 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : receivedAt;
                    events.Add(new GatewayEvent(GatewayEvent.IdFor(account, type, $"{digest}/{entityKey}/{actionKey}/{index}"), account, type, occurred, data));
                }
            }
        }

        return events;
    }

    private static string TypeOf(string entity, string action, JsonObject fields)
    {
        // v2 reports companies among contacts, marked type=company.
        if (entity == "contact" && fields["type"] is JsonValue t && t.TryGetValue<string>(out var kind) && kind == "company")
        {
            entity = "company";
        }

        return action == "note_added" ? NoteAdded : $"amocrm.{entity}.{action}";
    }

    // leads[status][0][id] → ["leads", "status", "0", "id"]
    private static List<string> Path(string key)
    {
        var open = key.IndexOf('[', StringComparison.Ordinal);
        var parts = new List<string> { open < 0 ? key : key[..open] };
        while (open >= 0)
        {
            var close = key.IndexOf(']', open);
            if (close < 0)
            {
                throw new AmoWebhookFormatException("has a field name with an unclosed bracket");
            }

            parts.Add(key[(open + 1)..close]);
            open = close + 1 < key.Length && key[close + 1] == '[' ? close + 1 : -1;
        }

        if (parts.Count > MaxDepth)
        {
            throw new AmoWebhookFormatException($"has a field nested deeper than {MaxDepth}");
        }

        return parts;
    }

    private static void Put(JsonObject root, List<string> path, string value)
    {
        var node = root;
        for (var i = 0; i < path.Count - 1; i++)
        {
            if (node[path[i]] is not JsonObject child)
            {
                child = [];
                node[path[i]] = child;
            }

            node = child;
        }

        node[path[^1]] = value;
    }

    // Objects keyed 0, 1, 2 … become arrays; known id and time fields become numbers.
    private static JsonObject Normalise(JsonObject fields)
    {
        var result = new JsonObject();
        foreach (var (key, value) in fields)
        {
            result[key] = NormaliseNode(key, value);
        }

        return result;
    }

    private static JsonNode? NormaliseNode(string key, JsonNode? value)
    {
        switch (value)
        {
            case JsonObject o when o.Count > 0 && o.All(p => int.TryParse(p.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)):
                return new JsonArray(o.OrderBy(p => int.Parse(p.Key, CultureInfo.InvariantCulture)).Select(p => NormaliseNode(p.Key, p.Value)).ToArray());
            case JsonObject o:
                return Normalise(o);
            case JsonValue v when Numbers.Contains(key) && v.TryGetValue<string>(out var s) && long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number):
                return number;
            default:
                return value?.DeepClone();
        }
    }
}
