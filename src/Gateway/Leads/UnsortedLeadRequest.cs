using System.Globalization;
using System.Text.Json.Nodes;

namespace Gateway.Leads;

// A field by id, code or name. Raw values are amoCRM's own shape, passed through as sent; the others are the caller's
// plain values (value, enum_id, enum_ids), made into what the field's type takes once the account's fields are known.
internal sealed record CustomFieldInput(long? FieldId, string? FieldCode, string? FieldName, JsonArray Values, bool Raw)
{
    // How the field is named in an error or a note when the account's field list does not name it.
    public string Label => FieldName ?? FieldCode ?? "field_id " + FieldId!.Value.ToString(CultureInfo.InvariantCulture);
}

internal sealed record TagInput(string? Name, long? Id);

internal sealed record LeadInput(string Name, long? Price, IReadOnlyList<CustomFieldInput> CustomFields, IReadOnlyList<TagInput> Tags);

internal sealed record ContactInput(string? Name, string? Phone, string? Email, IReadOnlyList<CustomFieldInput> CustomFields);

internal sealed record UnsortedLeadRequest(
    string? Source,
    string? FormName,
    string? FormPage,
    string? Referer,
    string? Ip,
    long? PipelineId,
    LeadInput Lead,
    ContactInput Contact,
    IReadOnlyList<KeyValuePair<string, string>> Utm,
    string? Comment,
    string? FormId = null,
    Contacts.DeliverySettings? Delivery = null,
    Contacts.LeadAssignment? Assignment = null)
{
    // Lead mode and contact policy; unsorted with a new contact when neither the body nor a default says otherwise.
    public Contacts.DeliverySettings DeliveryOrDefault => Delivery ?? Contacts.DeliverySettings.Default;

    // Whether anything in the request needs the account's field list to be sent right.
    public bool HasCustomFields => Lead.CustomFields.Count > 0 || Contact.CustomFields.Count > 0;

    private const int MaxText = 1000;
    private const int MaxComment = 20000;

    // Hand-parsed so that every wrong type becomes a 422 with the old detail keys, never a binder 400 or a 500.
    public static UnsortedLeadRequest? Parse(JsonNode? root, Dictionary<string, string> errors)
    {
        if (root is null)
        {
            errors["body"] = "Request body is required";
            return null;
        }

        if (root is not JsonObject body)
        {
            errors["body"] = "Request body must be a JSON object";
            return null;
        }

        var source = OptionalText(body, "source", "source", MaxText, errors);
        var formName = OptionalText(body, "form_name", "form_name", MaxText, errors);
        var formPage = OptionalText(body, "form_page", "form_page", MaxText, errors);
        var referer = OptionalText(body, "referer", "referer", MaxText, errors);
        var ip = OptionalText(body, "ip", "ip", 64, errors);
        var pipelineId = OptionalId(body["pipeline_id"], "pipeline_id", "Pipeline id must be a positive integer", errors);
        var lead = ParseLead(body["lead"], errors);
        var contact = ParseContact(body["contact"], errors);
        var utm = ParseUtm(body["utm"], errors);
        var comment = OptionalText(body, "comment", "comment", MaxComment, errors);
        var formId = OptionalText(body, "form_id", "form_id", 255, errors);
        var delivery = Contacts.DeliverySettings.Parse(body["delivery"], pipelineId, errors);
        var assignment = Contacts.AssignmentSettings.Parse(body, errors);

        return errors.Count == 0
            ? new UnsortedLeadRequest(source, formName, formPage, referer, ip, pipelineId, lead!, contact!, utm, comment, formId, delivery, assignment)
            : null;
    }

    private static LeadInput? ParseLead(JsonNode? node, Dictionary<string, string> errors)
    {
        if (node is not JsonObject lead)
        {
            errors["lead"] = "Lead object is required";
            return null;
        }

        var name = Scalar(lead["name"]);
        if (string.IsNullOrWhiteSpace(name))
        {
            errors["lead.name"] = "Lead name is required";
        }
        else if (name.Length > 255)
        {
            errors["lead.name"] = "Lead name must be at most 255 characters";
        }

        long? price = null;
        if (lead["price"] is { } priceNode)
        {
            price = Integer(priceNode);
            if (price is null or < 0)
            {
                errors["lead.price"] = "Price must be a non-negative integer";
            }
        }

        var fields = ParseCustomFields(lead["custom_fields"], "lead.custom_fields", errors);

        var tags = new List<TagInput>();
        if (lead["tags"] is { } tagsNode)
        {
            if (tagsNode is not JsonArray array)
            {
                errors["lead.tags"] = "Tags must be an array";
            }
            else
            {
                for (var i = 0; i < array.Count; i++)
                {
                    if (ParseTag(array[i]) is { } tag)
                    {
                        tags.Add(tag);
                    }
                    else
                    {
                        errors[$"lead.tags.{i}"] = "A tag is a name, {\"name\": \"...\"} or {\"id\": 123}";
                    }
                }
            }
        }

        return new LeadInput(name?.Trim() ?? "", price, fields, tags);
    }

    private static List<CustomFieldInput> ParseCustomFields(JsonNode? node, string key, Dictionary<string, string> errors)
    {
        var fields = new List<CustomFieldInput>();
        if (node is null)
        {
            return fields;
        }

        if (node is not JsonArray array)
        {
            errors[key] = "Custom fields must be an array";
            return fields;
        }

        for (var i = 0; i < array.Count; i++)
        {
            if (ParseCustomField(array[i], $"{key}.{i}", errors) is { } field)
            {
                fields.Add(field);
            }
        }

        return fields;
    }

    private static CustomFieldInput? ParseCustomField(JsonNode? node, string key, Dictionary<string, string> errors)
    {
        if (node is not JsonObject field)
        {
            errors[key] = "A custom field must be an object with field_id (or field_code, or field_name) and a value";
            return null;
        }

        long? fieldId = null;
        string? fieldCode = null;
        string? fieldName = null;
        if (field["field_id"] is { } idNode)
        {
            fieldId = Integer(idNode);
            if (fieldId is null or <= 0)
            {
                errors[$"{key}.field_id"] = "field_id must be a positive integer";
                return null;
            }
        }
        else if (Scalar(field["field_code"]) is { Length: > 0 } code)
        {
            // Kept as sent: amoCRM's codes are case-sensitive. The mapper upper-cases amoCRM's own system codes.
            fieldCode = code;
        }
        else if (Scalar(field["field_name"])?.Trim() is { Length: > 0 and <= 255 } name)
        {
            fieldName = name;
        }
        else
        {
            errors[$"{key}.field_id"] = "field_id, field_code or field_name is required";
            return null;
        }

        var values = new JsonArray();
        var rawShape = false;
        if (field["values"] is JsonArray raw)
        {
            rawShape = true;
            // amoCRM's own shape, passed through for callers who already speak it.
            foreach (var value in raw)
            {
                if (value is not JsonObject)
                {
                    errors[$"{key}.values"] = "values must be an array of objects";
                    return null;
                }

                values.Add(value.DeepClone());
            }
        }
        else if (field["enum_ids"] is { } enumIds)
        {
            if (enumIds is not JsonArray ids || ids.Count == 0 || ids.Any(id => Integer(id) is null or <= 0))
            {
                errors[$"{key}.enum_ids"] = "enum_ids must be a non-empty array of positive integers";
                return null;
            }

            foreach (var id in ids)
            {
                values.Add((JsonNode)new JsonObject { ["enum_id"] = Integer(id) });
            }
        }
        else if (field["enum_id"] is { } enumId)
        {
            if (Integer(enumId) is not > 0)
            {
                errors[$"{key}.enum_id"] = "enum_id must be a positive integer";
                return null;
            }

            values.Add((JsonNode)new JsonObject { ["enum_id"] = Integer(enumId) });
        }
        else if (IsPlainValue(field["value"]))
        {
            values.Add((JsonNode)new JsonObject { ["value"] = field["value"]!.DeepClone() });
        }
        else if (field["value"] is JsonArray several && several.Count > 0 && several.All(IsPlainValue))
        {
            // Several options of a multiselect by their text (or several values of one field).
            foreach (var one in several)
            {
                values.Add((JsonNode)new JsonObject { ["value"] = one!.DeepClone() });
            }
        }
        else
        {
            errors[$"{key}.value"] = "A custom field needs value, enum_id, enum_ids or values";
            return null;
        }

        return new CustomFieldInput(fieldId, fieldCode, fieldName, values, rawShape);
    }

    private static bool IsPlainValue(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() is System.Text.Json.JsonValueKind.String or System.Text.Json.JsonValueKind.Number or System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False;

    private static TagInput? ParseTag(JsonNode? node) => node switch
    {
        JsonValue when Scalar(node) is { Length: > 0 } name => new TagInput(name, null),
        JsonObject tag when Integer(tag["id"]) is > 0 and var id => new TagInput(null, id),
        JsonObject tag when Scalar(tag["name"]) is { Length: > 0 } name => new TagInput(name, null),
        _ => null,
    };

    private static ContactInput? ParseContact(JsonNode? node, Dictionary<string, string> errors)
    {
        if (node is not JsonObject contact)
        {
            errors["contact"] = "Contact object is required";
            return null;
        }

        var name = Scalar(contact["name"])?.Trim();
        var phone = Scalar(contact["phone"])?.Trim();
        var email = Scalar(contact["email"])?.Trim();
        foreach (var (field, value) in new[] { ("name", contact["name"]), ("phone", contact["phone"]), ("email", contact["email"]) })
        {
            if (value is not null && Scalar(value) is null)
            {
                errors[$"contact.{field}"] = $"Contact {field} must be a string";
            }
            else if (Scalar(value) is { Length: > 255 })
            {
                errors[$"contact.{field}"] = $"Contact {field} must be at most 255 characters";
            }
        }

        if (string.IsNullOrEmpty(name) && string.IsNullOrEmpty(phone) && string.IsNullOrEmpty(email))
        {
            errors["contact"] = "At least one contact field (name, phone, email) is required";
        }
        else if (!string.IsNullOrEmpty(email) && (email.IndexOf('@', StringComparison.Ordinal) is var at && (at <= 0 || at == email.Length - 1)))
        {
            errors["contact.email"] = "Invalid email format";
        }

        var fields = ParseCustomFields(contact["custom_fields"], "contact.custom_fields", errors);
        return new ContactInput(NullIfEmpty(name), NullIfEmpty(phone), NullIfEmpty(email), fields);
    }

    private static List<KeyValuePair<string, string>> ParseUtm(JsonNode? node, Dictionary<string, string> errors)
    {
        var utm = new List<KeyValuePair<string, string>>();
        if (node is null)
        {
            return utm;
        }

        if (node is not JsonObject obj)
        {
            errors["utm"] = "UTM must be an object of names and values";
            return utm;
        }

        foreach (var (key, value) in obj)
        {
            if (value is null)
            {
                continue;
            }

            if (Scalar(value) is not { } text || key.Length is 0 or > 64 || text.Length > MaxText)
            {
                errors[$"utm.{key}"] = "UTM values must be strings of at most 1000 characters";
                continue;
            }

            if (text.Length > 0)
            {
                utm.Add(new(key.Trim(), text));
            }
        }

        return utm;
    }

    private static string? OptionalText(JsonObject body, string name, string key, int max, Dictionary<string, string> errors)
    {
        var node = body[name];
        if (node is null)
        {
            return null;
        }

        var text = Scalar(node);
        if (text is null)
        {
            errors[key] = $"{name} must be a string";
            return null;
        }

        if (text.Length > max)
        {
            errors[key] = $"{name} must be at most {max} characters";
            return null;
        }

        return NullIfEmpty(text.Trim());
    }

    private static long? OptionalId(JsonNode? node, string key, string message, Dictionary<string, string> errors)
    {
        if (node is null)
        {
            return null;
        }

        var id = Integer(node);
        if (id is null or <= 0)
        {
            errors[key] = message;
            return null;
        }

        return id;
    }

    // Strings as they are, numbers as their JSON text; objects, arrays and booleans are not text.
    private static string? Scalar(JsonNode? node) =>
        node is JsonValue value
            ? value.GetValueKind() switch
            {
                System.Text.Json.JsonValueKind.String => value.GetValue<string>(),
                System.Text.Json.JsonValueKind.Number => value.ToJsonString(),
                _ => null,
            }
            : null;

    private static long? Integer(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        switch (value.GetValueKind())
        {
            case System.Text.Json.JsonValueKind.Number:
                if (value.TryGetValue<long>(out var l))
                {
                    return l;
                }

                return value.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e15 ? (long)d : null;
            case System.Text.Json.JsonValueKind.String:
                return long.TryParse(value.GetValue<string>(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
            default:
                return null;
        }
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
