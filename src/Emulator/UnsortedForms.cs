using System.Text.Json;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Emulator;

// Validates POST /api/v4/leads/unsorted/forms items the way amoCRM does, and turns valid ones into creation plans.
internal static class UnsortedForms
{
    // amocrm-api-php #400, #224: a custom field value over 256 characters fails the whole item. tracking_data is
    // unverified and treated the same.
    public const int MaxValueLength = 256;

    // No amoCRM source states a limit for lead and contact names; 255 is the documented limit for entity names
    // and what the gateway already enforces at intake.
    public const int MaxNameLength = 255;

    public static UnsortedPlan? Validate(JsonNode? node, ItemValidation v)
    {
        if (node is not JsonObject item)
        {
            v.InvalidType("", "object");
            return null;
        }

        if (!JsonRead.IsMissing(item["request_id"]) && JsonRead.RequestId(item["request_id"]) is null)
        {
            v.InvalidType("request_id", "string");
        }

        var sourceUid = RequiredString(item, "source_uid", "source_uid", v);
        RequiredString(item, "source_name", "source_name", v);
        ValidateMetadata(item["metadata"], v);

        var pipeline = OptionalPipeline(item["pipeline_id"], "pipeline_id", v);
        long? createdAt = null;
        if (!JsonRead.IsMissing(item["created_at"]))
        {
            if (JsonRead.TryGetInteger(item["created_at"], out var created))
            {
                createdAt = created;
            }
            else
            {
                v.InvalidType("created_at", "int");
            }
        }

        LeadPlan? lead = null;
        ContactPlan? contact = null;
        var embedded = item["_embedded"];
        if (JsonRead.IsMissing(embedded))
        {
            v.FieldMissing("_embedded.leads");
        }
        else if (embedded is not JsonObject embeddedObject)
        {
            v.InvalidType("_embedded", "object");
        }
        else
        {
            var leadNode = SingleEntity(embeddedObject["leads"], "_embedded.leads", required: true, v);
            if (leadNode is not null)
            {
                pipeline ??= OptionalPipeline(leadNode["pipeline_id"], "_embedded.leads.0.pipeline_id", v);
                lead = ValidateLead(leadNode, "_embedded.leads.0", v);
            }

            var contactNode = SingleEntity(embeddedObject["contacts"], "_embedded.contacts", required: false, v);
            if (contactNode is not null)
            {
                contact = ValidateContact(contactNode, "_embedded.contacts.0", v);
            }

            SingleEntity(embeddedObject["companies"], "_embedded.companies", required: false, v);
        }

        if (!v.IsValid || lead is null || sourceUid is null)
        {
            return null;
        }

        pipeline ??= EmulatorSeed.FindPipeline(EmulatorSeed.MainPipelineId)!;
        return new UnsortedPlan(
            (JsonObject)item.DeepClone(),
            sourceUid,
            JsonRead.RequestId(item["request_id"]),
            pipeline.Id,
            pipeline.UnsortedStatusId,
            createdAt,
            lead,
            contact);
    }

    private static string? RequiredString(JsonObject parent, string key, string path, ItemValidation v)
    {
        var node = parent[key];
        if (JsonRead.IsMissing(node))
        {
            v.FieldMissing(path);
            return null;
        }

        if (!JsonRead.TryGetString(node, out var text))
        {
            v.InvalidType(path, "string");
            return null;
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            v.NotBlank(path);
            return null;
        }

        return text;
    }

    private static void ValidateMetadata(JsonNode? node, ItemValidation v)
    {
        if (JsonRead.IsMissing(node))
        {
            v.FieldMissing("metadata");
            return;
        }

        if (node is not JsonObject metadata)
        {
            v.InvalidType("metadata", "object");
            return;
        }

        RequiredString(metadata, "form_id", "metadata.form_id", v);
        if (!JsonRead.IsMissing(metadata["form_sent_at"]) && !JsonRead.TryGetInteger(metadata["form_sent_at"], out _))
        {
            v.InvalidType("metadata.form_sent_at", "int");
        }
    }

    internal static SeedPipeline? OptionalPipeline(JsonNode? node, string path, ItemValidation v)
    {
        if (JsonRead.IsMissing(node))
        {
            return null;
        }

        if (!JsonRead.TryGetInteger(node, out var id))
        {
            v.InvalidType(path, "int");
            return null;
        }

        var pipeline = EmulatorSeed.FindPipeline(id);
        if (pipeline is null)
        {
            v.NotSupportedChoice(path);
        }

        return pipeline;
    }

    // _embedded.leads/contacts/companies: an array holding one object (leads must have it, the others may).
    private static JsonObject? SingleEntity(JsonNode? node, string path, bool required, ItemValidation v)
    {
        if (JsonRead.IsMissing(node) || node is JsonArray { Count: 0 })
        {
            if (required && JsonRead.IsMissing(node))
            {
                v.FieldMissing(path);
            }
            else if (required)
            {
                v.NotBlank(path);
            }

            return null;
        }

        if (node is not JsonArray array)
        {
            v.InvalidType(path, "array");
            return null;
        }

        if (array.Count > 1)
        {
            v.TooMany(path, 1);
            return null;
        }

        if (array[0] is not JsonObject entity)
        {
            v.InvalidType(path + ".0", "object");
            return null;
        }

        return entity;
    }

    internal static LeadPlan ValidateLead(JsonObject lead, string path, ItemValidation v)
    {
        string? name = null;
        if (!JsonRead.IsMissing(lead["name"]) && !JsonRead.TryGetString(lead["name"], out name))
        {
            v.InvalidType(path + ".name", "string");
        }
        else if (name is { Length: > MaxNameLength })
        {
            v.TooLong(path + ".name", MaxNameLength);
        }

        long? price = null;
        if (!JsonRead.IsMissing(lead["price"]))
        {
            if (JsonRead.TryGetInteger(lead["price"], out var p))
            {
                price = p;
            }
            else
            {
                v.InvalidType(path + ".price", "int");
            }
        }

        var fields = ValidateCustomFields(lead["custom_fields_values"], EmulatorSeed.LeadFields, path + ".custom_fields_values", v);
        var tags = new List<TagPlan>();
        var tagsNode = (lead["_embedded"] as JsonObject)?["tags"];
        if (!JsonRead.IsMissing(tagsNode))
        {
            if (tagsNode is not JsonArray tagArray)
            {
                v.InvalidType(path + "._embedded.tags", "array");
            }
            else
            {
                for (var i = 0; i < tagArray.Count; i++)
                {
                    var tagPath = $"{path}._embedded.tags.{i.ToString(CultureInfo.InvariantCulture)}";
                    if (tagArray[i] is not JsonObject tag)
                    {
                        v.InvalidType(tagPath, "object");
                    }
                    else if (JsonRead.TryGetString(tag["name"], out var tagName) && !string.IsNullOrWhiteSpace(tagName))
                    {
                        tags.Add(new TagPlan(null, tagName));
                    }
                    else if (JsonRead.TryGetInteger(tag["id"], out var tagId))
                    {
                        tags.Add(new TagPlan(tagId, null));
                    }
                    else if (JsonRead.IsMissing(tag["name"]))
                    {
                        v.FieldMissing(tagPath + ".name");
                    }
                    else
                    {
                        v.NotBlank(tagPath + ".name");
                    }
                }
            }
        }

        return new LeadPlan((JsonObject)lead.DeepClone(), name, price, fields, tags);
    }

    internal static ContactPlan ValidateContact(JsonObject contact, string path, ItemValidation v)
    {
        string? Name(string key)
        {
            var node = contact[key];
            if (JsonRead.IsMissing(node))
            {
                return null;
            }

            var text = JsonRead.AsScalarText(node);
            if (text is null)
            {
                v.InvalidType(path + "." + key, "string");
            }
            else if (text.Length > MaxNameLength)
            {
                v.TooLong(path + "." + key, MaxNameLength);
            }

            return text;
        }

        var name = Name("name");
        var firstName = Name("first_name");
        var lastName = Name("last_name");
        var fields = ValidateCustomFields(contact["custom_fields_values"], EmulatorSeed.ContactFields, path + ".custom_fields_values", v);
        return new ContactPlan(name, firstName, lastName, fields);
    }

    internal static JsonArray? ValidateCustomFields(JsonNode? node, FieldSet fields, string path, ItemValidation v)
    {
        if (JsonRead.IsMissing(node))
        {
            return null;
        }

        if (node is not JsonArray entries)
        {
            v.InvalidType(path, "array");
            return null;
        }

        var normalized = new JsonArray();
        for (var i = 0; i < entries.Count; i++)
        {
            var entryPath = $"{path}.{i.ToString(CultureInfo.InvariantCulture)}";
            if (entries[i] is not JsonObject entry)
            {
                v.InvalidType(entryPath, "object");
                continue;
            }

            var field = ResolveField(entry, fields, entryPath, v);
            if (field is null)
            {
                continue;
            }

            var valuesNode = entry["values"];
            if (JsonRead.IsMissing(valuesNode))
            {
                v.FieldMissing(entryPath + ".values");
                continue;
            }

            if (valuesNode is JsonArray { Count: 0 })
            {
                v.NotBlank(entryPath + ".values");
                continue;
            }

            if (valuesNode is not JsonArray values)
            {
                v.InvalidType(entryPath + ".values", "array");
                continue;
            }

            var normalizedValues = new JsonArray();
            for (var j = 0; j < values.Count; j++)
            {
                if (ValidateValue(field, values[j], $"{entryPath}.values.{j.ToString(CultureInfo.InvariantCulture)}", v) is { } value)
                {
                    normalizedValues.Add(value);
                }
            }

            normalized.Add(new JsonObject
            {
                ["field_id"] = field.Id,
                ["field_name"] = field.Name,
                ["field_code"] = field.Code,
                ["field_type"] = field.Type,
                ["values"] = normalizedValues,
            });
        }

        return normalized;
    }

    private static SeedField? ResolveField(JsonObject entry, FieldSet fields, string path, ItemValidation v)
    {
        if (!JsonRead.IsMissing(entry["field_id"]))
        {
            if (!JsonRead.TryGetInteger(entry["field_id"], out var id))
            {
                v.InvalidType(path + ".field_id", "int");
                return null;
            }

            var byId = fields.FindById(id);
            if (byId is null)
            {
                v.NotSupportedChoice(path + ".field_id");
            }

            return byId;
        }

        if (!JsonRead.IsMissing(entry["field_code"]))
        {
            if (!JsonRead.TryGetString(entry["field_code"], out var code))
            {
                v.InvalidType(path + ".field_code", "string");
                return null;
            }

            var byCode = fields.FindByCode(code);
            if (byCode is null)
            {
                v.NotSupportedChoice(path + ".field_code");
            }

            return byCode;
        }

        v.FieldMissing(path + ".field_id");
        return null;
    }

    private static JsonObject? ValidateValue(SeedField field, JsonNode? node, string path, ItemValidation v)
    {
        if (node is not JsonObject value)
        {
            v.InvalidType(path, "object");
            return null;
        }

        switch (field.Type)
        {
            case "select" or "radiobutton" or "multiselect":
            {
                // amoCRM takes an option by enum_id, by enum_code, or by its text in any case.
                SeedEnum? chosen;
                string choicePath;
                if (!JsonRead.IsMissing(value["enum_id"]))
                {
                    chosen = JsonRead.TryGetInteger(value["enum_id"], out var enumId) ? field.Enums.FirstOrDefault(e => e.Id == enumId) : null;
                    choicePath = path + ".enum_id";
                }
                else if (!JsonRead.IsMissing(value["enum_code"]))
                {
                    var code = JsonRead.AsScalarText(value["enum_code"]);
                    chosen = code is null ? null : field.Enums.FirstOrDefault(e => string.Equals(e.Code, code, StringComparison.Ordinal));
                    choicePath = path + ".enum_code";
                }
                else if (!JsonRead.IsMissing(value["value"]))
                {
                    var label = JsonRead.AsScalarText(value["value"]);
                    chosen = label is null ? null : field.Enums.FirstOrDefault(e => string.Equals(e.Value, label, StringComparison.OrdinalIgnoreCase));
                    choicePath = path + ".value";
                }
                else
                {
                    v.FieldMissing(path + ".enum_id");
                    return null;
                }

                if (chosen is null)
                {
                    v.NotSupportedChoice(choicePath);
                    return null;
                }

                return new JsonObject { ["value"] = chosen.Value, ["enum_id"] = chosen.Id, ["enum_code"] = chosen.Code };
            }

            case "numeric":
                if (JsonRead.IsMissing(value["value"]))
                {
                    v.FieldMissing(path + ".value");
                    return null;
                }

                if (!JsonRead.IsNumeric(value["value"]))
                {
                    v.InvalidType(path + ".value", "numeric");
                    return null;
                }

                return new JsonObject { ["value"] = JsonRead.AsScalarText(value["value"]) };

            // amoCRM takes a date as Unix seconds or an RFC 3339 string, nothing a person would type (31.05.2024).
            case "date" or "date_time" or "birthday":
                if (JsonRead.IsMissing(value["value"]))
                {
                    v.FieldMissing(path + ".value");
                    return null;
                }

                if (JsonRead.UnixSeconds(value["value"]) is not { } seconds)
                {
                    v.InvalidType(path + ".value", "date");
                    return null;
                }

                return new JsonObject { ["value"] = seconds };

            case "checkbox":
                if (JsonRead.IsMissing(value["value"]))
                {
                    v.FieldMissing(path + ".value");
                    return null;
                }

                if (value["value"] is not JsonValue flag || flag.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                {
                    v.InvalidType(path + ".value", "bool");
                    return null;
                }

                return new JsonObject { ["value"] = flag.GetValue<bool>() };

            default:
            {
                if (JsonRead.IsMissing(value["value"]))
                {
                    v.FieldMissing(path + ".value");
                    return null;
                }

                var text = JsonRead.AsScalarText(value["value"]);
                if (text is null)
                {
                    v.InvalidType(path + ".value", "string");
                    return null;
                }

                if (text.Length > MaxValueLength)
                {
                    v.TooLong(path + ".value", MaxValueLength);
                    return null;
                }

                if (field.Type == "url" && !(Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"))
                {
                    v.InvalidUrl(path + ".value");
                    return null;
                }

                if (field.Type != "multitext")
                {
                    return new JsonObject { ["value"] = text };
                }

                var chosen = field.Enums[0];
                if (!JsonRead.IsMissing(value["enum_id"]))
                {
                    var byId = JsonRead.TryGetInteger(value["enum_id"], out var enumId) ? field.Enums.FirstOrDefault(e => e.Id == enumId) : null;
                    if (byId is null)
                    {
                        v.NotSupportedChoice(path + ".enum_id");
                        return null;
                    }

                    chosen = byId;
                }
                else if (!JsonRead.IsMissing(value["enum_code"]))
                {
                    var code = JsonRead.AsScalarText(value["enum_code"]);
                    var byCode = field.Enums.FirstOrDefault(e => string.Equals(e.Value, code, StringComparison.Ordinal));
                    if (byCode is null)
                    {
                        v.NotSupportedChoice(path + ".enum_code");
                        return null;
                    }

                    chosen = byCode;
                }

                return new JsonObject { ["value"] = text, ["enum_id"] = chosen.Id, ["enum_code"] = chosen.Value };
            }
        }
    }
}

internal sealed record UnsortedPlan(
    JsonObject Item, string SourceUid, string? RequestId, long PipelineId, long StatusId, long? CreatedAt, LeadPlan Lead, ContactPlan? Contact);

internal sealed record TagPlan(long? Id, string? Name);

internal sealed record LeadPlan(JsonObject Received, string? Name, long? Price, JsonArray? Fields, IReadOnlyList<TagPlan> Tags)
{
    public JsonObject ToView(long id, long accountId, long pipelineId, long statusId, long createdAt, long now, JsonArray tags, long? contactId)
    {
        var contacts = new JsonArray();
        if (contactId is { } cid)
        {
            contacts.Add(new JsonObject { ["id"] = cid, ["is_main"] = true });
        }

        return new JsonObject
        {
            ["id"] = id,
            ["name"] = Name ?? "Сделка #" + id.ToString(CultureInfo.InvariantCulture),
            ["price"] = Price ?? 0,
            ["responsible_user_id"] = JsonRead.TryGetInteger(Received["responsible_user_id"], out var responsible) ? responsible : TeamState.AdminUserId,
            ["group_id"] = 0,
            ["status_id"] = statusId,
            ["pipeline_id"] = pipelineId,
            ["loss_reason_id"] = null,
            ["created_by"] = 0,
            ["updated_by"] = 0,
            ["created_at"] = createdAt,
            ["updated_at"] = now,
            ["closed_at"] = null,
            ["closest_task_at"] = null,
            ["is_deleted"] = false,
            ["custom_fields_values"] = Fields?.DeepClone(),
            ["score"] = null,
            ["account_id"] = accountId,
            ["labor_cost"] = null,
            ["_embedded"] = new JsonObject { ["tags"] = tags, ["companies"] = new JsonArray(), ["contacts"] = contacts },
        };
    }
}

internal sealed record ContactPlan(string? Name, string? FirstName, string? LastName, JsonArray? Fields)
{
    public string DisplayName => Name ?? string.Join(' ', new[] { FirstName, LastName }.Where(n => !string.IsNullOrEmpty(n)));

    public string SearchText => string.Join(
        '\n',
        new[] { DisplayName, FirstName, LastName }
            .Concat(Fields?.SelectMany(f => f?["values"]?.AsArray() ?? []).Select(value => JsonRead.AsScalarText(value?["value"])) ?? [])
            .Where(s => !string.IsNullOrEmpty(s)));

    public JsonObject ToView(long id, long accountId, long now) => new()
    {
        ["id"] = id,
        ["name"] = DisplayName,
        ["first_name"] = FirstName ?? "",
        ["last_name"] = LastName ?? "",
        ["responsible_user_id"] = 581651,
        ["group_id"] = 0,
        ["created_by"] = 0,
        ["updated_by"] = 0,
        ["created_at"] = now,
        ["updated_at"] = now,
        ["closest_task_at"] = null,
        ["is_deleted"] = false,
        ["is_unsorted"] = true,
        ["custom_fields_values"] = Fields?.DeepClone(),
        ["account_id"] = accountId,
        ["_embedded"] = new JsonObject { ["tags"] = new JsonArray(), ["companies"] = new JsonArray() },
    };
}
