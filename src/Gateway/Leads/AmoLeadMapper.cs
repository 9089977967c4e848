using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Leads;

internal sealed record MappedLead(JsonObject Item, string? NoteText);

// The request → one item of POST /api/v4/leads/unsorted/forms, plus the text of its note.
internal static class AmoLeadMapper
{
    public const string DefaultSource = "gateway";
    public const string DefaultFormName = "Gateway Form";

    private static readonly FrozenSet<string> SystemFieldCodes = FrozenSet.Create(StringComparer.Ordinal, "PHONE", "EMAIL", "GCLID", "YCLID");

    public static MappedLead Map(
        UnsortedLeadRequest request,
        string sourceUid,
        IReadOnlyDictionary<string, long> trackingFieldIds,
        DateTimeOffset now,
        string? callerIp)
    {
        var fit = new AmoValueFit();
        var formName = request.FormName ?? DefaultFormName;
        var metadata = new JsonObject
        {
            ["form_id"] = FormId(formName),
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
        foreach (var field in request.Lead.CustomFields)
        {
            var value = new JsonObject();
            if (field.FieldId is { } id)
            {
                value["field_id"] = id;
            }
            else
            {
                value["field_code"] = FieldCode(field.FieldCode!, trackingFieldIds);
            }

            value["values"] = FitValues(fit, (string?)value["field_code"] ?? "field_id " + field.FieldId!.Value.ToString(CultureInfo.InvariantCulture), field.Values);
            leadFields.Add((JsonNode)value);
        }

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
            ["contacts"] = new JsonArray(MapContact(request.Contact, fit)),
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
        return new MappedLead(item, NoteText(request.Comment, untracked, fit.Cut));
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

    // The caller's values, with every text value cut to fit; several values of one field keep one label each.
    private static JsonArray FitValues(AmoValueFit fit, string label, JsonArray values)
    {
        var result = (JsonArray)values.DeepClone();
        foreach (var value in result)
        {
            if (value is JsonObject entry && entry["value"] is JsonValue text && text.GetValueKind() == JsonValueKind.String)
            {
                entry["value"] = fit.Fit(label, text.GetValue<string>());
            }
        }

        return result;
    }

    private static JsonObject MapContact(ContactInput contact, AmoValueFit fit)
    {
        var result = new JsonObject();
        AddIfPresent(result, "name", fit.Fit("contact name", contact.Name ?? contact.Phone ?? contact.Email, AmoValueFit.NameLimit));
        var fields = new JsonArray();
        if (contact.Phone is { } phone)
        {
            fields.Add((JsonNode)Multitext("PHONE", phone));
        }

        if (contact.Email is { } email)
        {
            fields.Add((JsonNode)Multitext("EMAIL", email));
        }

        if (fields.Count > 0)
        {
            result["custom_fields_values"] = fields;
        }

        return result;
    }

    private static JsonObject Multitext(string code, string value) => new()
    {
        ["field_code"] = code,
        ["values"] = new JsonArray(new JsonObject { ["value"] = value, ["enum_code"] = "WORK" }),
    };

    // The comment first, then whatever UTM data has no tracking field in this account, then the whole text of every
    // value that was cut to fit amoCRM's limits.
    private static string? NoteText(string? comment, List<KeyValuePair<string, string>> untracked, List<KeyValuePair<string, string>> cut)
    {
        if (comment is null && untracked.Count == 0 && cut.Count == 0)
        {
            return null;
        }

        var text = new StringBuilder();
        if (comment is not null)
        {
            text.Append(comment);
        }

        if (untracked.Count > 0)
        {
            if (text.Length > 0)
            {
                text.Append("\n\n");
            }

            text.Append("UTM:");
            foreach (var (name, value) in untracked)
            {
                text.Append('\n').Append(name).Append(": ").Append(value);
            }
        }

        if (cut.Count > 0)
        {
            if (text.Length > 0)
            {
                text.Append("\n\n");
            }

            text.Append("Cut to fit amoCRM, in full:");
            foreach (var (name, value) in cut)
            {
                text.Append('\n').Append(name).Append(": ").Append(value);
            }
        }

        return text.ToString();
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
