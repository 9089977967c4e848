using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Amo;

namespace Gateway.Leads;

internal sealed record AmoFieldOption(long Id, string Value, string? Code);

internal sealed record AmoField(long Id, string Name, string Type, string? Code, bool IsPredefined, IReadOnlyList<AmoFieldOption> Options);

// One entity's custom fields as the account has them (GET /api/v4/{leads|contacts}/custom_fields, every page):
// what a caller's field_id, field_code or field_name means, and what each field's type takes.
internal sealed class AmoFieldCatalog
{
    // amoCRM's own upper-case codes, which callers have always sent in any case.
    private static readonly FrozenSet<string> SystemCodes = FrozenSet.Create(StringComparer.Ordinal, "PHONE", "EMAIL", "GCLID", "YCLID");

    private readonly Dictionary<long, AmoField> byId = [];
    private readonly Dictionary<string, AmoField> byCode = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<AmoField>> byName = new(StringComparer.OrdinalIgnoreCase);

    private AmoFieldCatalog(bool known) => IsKnown = known;

    // No field list (none asked for, or amoCRM could not give one): fields go as the caller wrote them.
    public static AmoFieldCatalog Unknown { get; } = new(false);

    public bool IsKnown { get; }

    // The account's tracking_data fields by code (UTM_SOURCE, GCLID …): where UTM values belong.
    public Dictionary<string, long> TrackingFieldIds { get; } = new(StringComparer.Ordinal);

    // The info cache hands out the same answer until it expires: read each answer once, not once per lead.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<JsonNode, AmoFieldCatalog> Catalogs = [];

    public static AmoFieldCatalog From(JsonNode? body) =>
        body is null ? Build(null) : Catalogs.GetValue(body, Build);

    private static AmoFieldCatalog Build(JsonNode? body)
    {
        var catalog = new AmoFieldCatalog(true);
        if (body?["_embedded"]?["custom_fields"] is not JsonArray all)
        {
            return catalog;
        }

        foreach (var node in all.OfType<JsonObject>())
        {
            if (AmoJson.Long(node["id"]) is not { } id || !catalog.byId.TryAdd(id, Read(node, id)))
            {
                continue;
            }

            var field = catalog.byId[id];
            if (field.Code is { Length: > 0 } code)
            {
                catalog.byCode.TryAdd(code, field);
                if (field.Type == "tracking_data")
                {
                    catalog.TrackingFieldIds.TryAdd(code.ToUpperInvariant(), id);
                }
            }

            var name = field.Name.Trim();
            if (name.Length > 0)
            {
                if (!catalog.byName.TryGetValue(name, out var named))
                {
                    catalog.byName[name] = named = [];
                }

                named.Add(field);
            }
        }

        return catalog;
    }

    private static AmoField Read(JsonObject node, long id)
    {
        var options = new List<AmoFieldOption>();
        if (node["enums"] is JsonArray enums)
        {
            foreach (var option in enums.OfType<JsonObject>())
            {
                if (AmoJson.Long(option["id"]) is { } optionId)
                {
                    options.Add(new AmoFieldOption(optionId, AmoJson.Text(option["value"]) ?? "", AmoJson.Text(option["enum_code"]) ?? AmoJson.Text(option["code"])));
                }
            }
        }

        var predefined = node["is_predefined"] is System.Text.Json.Nodes.JsonValue flag && flag.GetValueKind() == System.Text.Json.JsonValueKind.True;
        return new AmoField(id, AmoJson.Text(node["name"]) ?? "", AmoJson.Text(node["type"]) ?? "text", AmoJson.Text(node["code"]), predefined, options);
    }

    public AmoField? FindById(long id) => byId.GetValueOrDefault(id);

    // Codes are case-sensitive, but amoCRM's own fields (PHONE, EMAIL, POSITION, UTM_*, the tracking codes) have
    // upper-case codes callers have always written in any case.
    public AmoField? FindByCode(string code) =>
        byCode.GetValueOrDefault(code)
        ?? (byCode.GetValueOrDefault(code.ToUpperInvariant()) is { } upper && (upper.IsPredefined || IsSystemCode(code)) ? upper : null);

    public bool IsSystemCode(string code)
    {
        var upper = code.ToUpperInvariant();
        return SystemCodes.Contains(upper) || upper.StartsWith("UTM_", StringComparison.Ordinal) || TrackingFieldIds.ContainsKey(upper);
    }

    // What a caller's field means here: by id, by code, or by a name only one field has.
    public (AmoField? Field, string? Problem) Resolve(CustomFieldInput input)
    {
        if (input.FieldId is { } id)
        {
            return FindById(id) is { } byId ? (byId, null) : (null, $"This account has no field {id.ToString(CultureInfo.InvariantCulture)}");
        }

        if (input.FieldCode is { } code)
        {
            return FindByCode(code) is { } byCode ? (byCode, null) : (null, $"This account has no field with the code {code}");
        }

        var named = FindByName(input.FieldName!);
        return named.Count switch
        {
            1 => (named[0], null),
            0 => (null, $"This account has no field named {input.FieldName}"),
            _ => (null, $"{named.Count.ToString(CultureInfo.InvariantCulture)} fields are named {input.FieldName} (ids {string.Join(", ", named.Select(f => f.Id.ToString(CultureInfo.InvariantCulture)))}): give field_id instead"),
        };
    }

    // Names are compared without case; two fields of one name cannot be told apart by it.
    public IReadOnlyList<AmoField> FindByName(string name) =>
        byName.TryGetValue(name.Trim(), out var named) ? named : [];
}
