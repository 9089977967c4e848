using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Leads;

// Problems: what cannot be sent as the caller wrote it, by the request's detail key (lead.custom_fields.0) — the
// intake answers them as a 422; at delivery they go into the note instead, so nothing the caller sent is lost.
internal sealed record MappedLead(JsonObject Item, string? NoteText, IReadOnlyDictionary<string, string> Problems);

// The account's fields for one mapping: what field ids, codes and names mean, and the time zone dates are read in.
internal sealed record LeadFieldContext(AmoFieldCatalog Lead, AmoFieldCatalog Contact, TimeZoneInfo? Zone)
{
    public static LeadFieldContext None { get; } = new(AmoFieldCatalog.Unknown, AmoFieldCatalog.Unknown, null);
}

// The request → one item of POST /api/v4/leads/unsorted/forms, plus the text of its note.
internal static class AmoLeadMapper
{
    public const string DefaultSource = "gateway";
    public const string DefaultFormName = "Gateway Form";

    private static readonly FrozenSet<string> SystemFieldCodes = FrozenSet.Create(StringComparer.Ordinal, "PHONE", "EMAIL", "GCLID", "YCLID");

    public static MappedLead Map(
        UnsortedLeadRequest request,
        string sourceUid,
        LeadFieldContext fields,
        DateTimeOffset now,
        string? callerIp)
    {
        var fit = new AmoValueFit();
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        var unsent = new List<KeyValuePair<string, string>>();
        var trackingFieldIds = fields.Lead.TrackingFieldIds;
        var formName = request.FormName ?? DefaultFormName;
        var metadata = new JsonObject
        {
            ["form_id"] = request.FormId ?? FormId(formName),
            ["form_name"] = fit.Fit("form_name", formName),
            ["form_sent_at"] = now.ToUnixTimeSeconds(),
        };
        AddIfPresent(metadata, "form_page", fit.Fit("form_page", request.FormPage));
        AddIfPresent(metadata, "ip", request.Ip ?? callerIp);
        AddIfPresent(metadata, "referer", fit.Fit("referer", request.Referer));

        var lead = new JsonObject { ["name"] = fit.Fit("lead name", request.Lead.Name, AmoValueFit.NameLimit) };
        if (request.Lead.Price is { } price)
        {
            lead["price"] = price;
        }

        var leadFields = new JsonArray();
        MapFields(request.Lead.CustomFields, "lead.custom_fields", fields.Lead, fields.Zone, fit, problems, unsent, leadFields);

        var untracked = new List<KeyValuePair<string, string>>();
        foreach (var (name, text) in request.Utm)
        {
            if (trackingFieldIds.TryGetValue(name.ToUpperInvariant(), out var fieldId))
            {
                leadFields.Add((JsonNode)new JsonObject { ["field_id"] = fieldId, ["values"] = new JsonArray(new JsonObject { ["value"] = fit.Fit(name, text) }) });
            }
            else
            {
                untracked.Add(new(name, text));
            }
        }

        if (leadFields.Count > 0)
        {
            lead["custom_fields_values"] = leadFields;
        }

        if (request.Lead.Tags.Count > 0)
        {
            var tags = new JsonArray();
            foreach (var tag in request.Lead.Tags)
            {
                tags.Add((JsonNode)(tag.Id is { } tagId ? new JsonObject { ["id"] = tagId } : new JsonObject { ["name"] = tag.Name }));
            }

            lead["_embedded"] = new JsonObject { ["tags"] = tags };
        }

        var embedded = new JsonObject
        {
            ["leads"] = new JsonArray(lead),
            ["contacts"] = new JsonArray(MapContact(request.Contact, fields, fit, problems, unsent)),
        };

        var item = new JsonObject
        {
            ["request_id"] = sourceUid,
            ["source_uid"] = sourceUid,
            ["source_name"] = fit.Fit("source", request.Source ?? DefaultSource),
            ["created_at"] = now.ToUnixTimeSeconds(),
        };
        if (request.PipelineId is { } pipelineId)
        {
            item["pipeline_id"] = pipelineId;
        }

        item["metadata"] = metadata;
        item["_embedded"] = embedded;
        return new MappedLead(item, NoteText(request.Comment, untracked, unsent, fit.Cut), problems);
    }

    // amoCRM's field codes are case-sensitive, so a caller's code is sent as written; only amoCRM's own upper-case
    // system codes (PHONE, EMAIL, UTM_*, the account's tracking fields) are upper-cased, as callers have always sent them in any case.
    internal static string FieldCode(string code, IReadOnlyDictionary<string, long> trackingFieldIds)
    {
        var upper = code.ToUpperInvariant();
        return SystemFieldCodes.Contains(upper) || upper.StartsWith("UTM_", StringComparison.Ordinal) || trackingFieldIds.ContainsKey(upper)
            ? upper
            : code;
    }

    // Each field resolved against the account's list (by id, code or name) and its values made into what its type
    // takes. Without a list (the request needed none) fields go as written, as they always did.
    private static void MapFields(
        IReadOnlyList<CustomFieldInput> inputs, string keyPrefix, AmoFieldCatalog catalog, TimeZoneInfo? zone, AmoValueFit fit,
        Dictionary<string, string> problems, List<KeyValuePair<string, string>> unsent, JsonArray result)
    {
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var key = $"{keyPrefix}.{i.ToString(CultureInfo.InvariantCulture)}";
            if (!catalog.IsKnown)
            {
                if (input.FieldName is not null)
                {
                    // Only a field list can say what a name means: kept for the note rather than guessed.
                    unsent.Add(new(input.Label, ValueText(input.Values)));
                    continue;
                }

                result.Add((JsonNode)Entry(input, null, FieldValues.FitText(input.Values, fit, input.Label), catalog));
                continue;
            }

            var (field, problem) = catalog.Resolve(input);
            var label = field?.Name is { Length: > 0 } name ? name : input.Label;
            if (field is not null)
            {
                var converted = FieldValues.Convert(field, input, zone, fit, label);
                if (converted.Values is { } values)
                {
                    result.Add((JsonNode)Entry(input, field, values, catalog));
                    continue;
                }

                problem = converted.Problem;
            }

            problems[key] = problem!;
            unsent.Add(new(label, ValueText(input.Values)));
        }
    }

    // By code when the caller named it by code (its case kept, amoCRM's system codes upper-cased), else by id.
    private static JsonObject Entry(CustomFieldInput input, AmoField? field, JsonArray values, AmoFieldCatalog catalog)
    {
        var entry = new JsonObject();
        if (input.FieldCode is { } code)
        {
            entry["field_code"] = field?.Code ?? FieldCode(code, catalog.TrackingFieldIds);
        }
        else
        {
            entry["field_id"] = field?.Id ?? input.FieldId;
        }

        entry["values"] = values;
        return entry;
    }

    // What a field's values were, as the caller wrote them, for the note.
    private static string ValueText(JsonArray values) =>
        string.Join(", ", values.OfType<JsonObject>().Select(v => (v["value"] ?? v["enum_id"] ?? v["enum_code"]) is JsonValue one
            ? one.GetValueKind() == JsonValueKind.String ? one.GetValue<string>() : one.ToJsonString()
            : v.ToJsonString()));

    private static JsonObject MapContact(
        ContactInput contact, LeadFieldContext fields, AmoValueFit fit, Dictionary<string, string> problems, List<KeyValuePair<string, string>> unsent)
    {
        var result = new JsonObject();
        AddIfPresent(result, "name", fit.Fit("contact name", contact.Name ?? contact.Phone ?? contact.Email, AmoValueFit.NameLimit));
        var custom = new JsonArray();
        if (contact.Phone is { } phone)
        {
            custom.Add((JsonNode)Multitext("PHONE", phone));
        }

        if (contact.Email is { } email)
        {
            custom.Add((JsonNode)Multitext("EMAIL", email));
        }

        MapFields(contact.CustomFields, "contact.custom_fields", fields.Contact, fields.Zone, fit, problems, unsent, custom);

        if (custom.Count > 0)
        {
            result["custom_fields_values"] = custom;
        }

        return result;
    }

    private static JsonObject Multitext(string code, string value) => new()
    {
        ["field_code"] = code,
        ["values"] = new JsonArray(new JsonObject { ["value"] = value, ["enum_code"] = "WORK" }),
    };

    // The comment first, then whatever UTM data has no tracking field in this account, then the fields amoCRM could
    // not be given as written, then the whole text of every value that was cut to fit amoCRM's limits.
    private static string? NoteText(
        string? comment, List<KeyValuePair<string, string>> untracked, List<KeyValuePair<string, string>> unsent, List<KeyValuePair<string, string>> cut)
    {
        if (comment is null && untracked.Count == 0 && unsent.Count == 0 && cut.Count == 0)
        {
            return null;
        }

        var text = new StringBuilder();
        if (comment is not null)
        {
            text.Append(comment);
        }

        Section(text, "UTM:", untracked);
        Section(text, "Not sent as fields, as written:", unsent);
        Section(text, "Cut to fit amoCRM, in full:", cut);
        return text.ToString();
    }

    private static void Section(StringBuilder text, string title, List<KeyValuePair<string, string>> lines)
    {
        if (lines.Count == 0)
        {
            return;
        }

        if (text.Length > 0)
        {
            text.Append("\n\n");
        }

        text.Append(title);
        foreach (var (name, value) in lines)
        {
            text.Append('\n').Append(name).Append(": ").Append(value);
        }
    }

    // Stable across restarts and instances so amoCRM groups a form's leads together.
    public static string FormId(string formName) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(formName)))[..32];

    private static void AddIfPresent(JsonObject target, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            target[name] = value;
        }
    }
}
