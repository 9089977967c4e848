using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Sources;

// A submission's fields → the JSON API's lead body (Leads.UnsortedLeadRequest's shape), so the same validation, defaults,
// field lookup by name and outbox apply. The usual fields map with no profile; a profile maps the rest. Every field
// that maps to nothing goes into the note as "Label: value": a renamed form field never loses what it carried.
internal static class FormMapper
{
    private static readonly Dictionary<string, Target> Known = Build(
        (Target.ContactNameTarget, ["name", "fullname", "fio", "ism", "ismingiz", "ismfamiliya", "fish", "имя", "фио", "вашеимя", "contactname", "clientname"]),
        (Target.ContactPhoneTarget, ["phone", "tel", "telephone", "phonenumber", "mobile", "telefon", "telefonraqam", "telefonraqamingiz", "raqam", "телефон", "номертелефона", "ваштелефон"]),
        (Target.ContactEmailTarget, ["email", "mail", "emailaddress", "pochta", "elektronpochta", "почта", "электроннаяпочта"]),
        (Target.MessageTarget, ["message", "comment", "comments", "izoh", "xabar", "savol", "сообщение", "комментарий", "вопрос"]));

    // Metadata the tools add: used, never noted.
    private static readonly HashSet<string> Quiet = new(StringComparer.OrdinalIgnoreCase) { "tranid", "formid", "formname", "form_id", "form_name", "COOKIES", "payment", "referer", "referrer" };

    public static MappedSubmission Map(string tool, IReadOnlyList<FormField> sent, IReadOnlyList<SourceProfile> profiles, string? formHint)
    {
        List<KeyValuePair<string, string>> meta = [];
        var fields = tool == SourceTool.Elementor ? ElementorFields(sent, out meta) : [.. sent];
        string? Value(string key) => sent.FirstOrDefault(f => string.Equals(f.Key, key, StringComparison.OrdinalIgnoreCase))?.Value is { Length: > 0 } v ? v : null;

        var formId = Value("formid") ?? Value("form_id") ?? Value("form[id]") ?? formHint;
        var formName = Value("formname") ?? Value("form_name") ?? Value("form[name]");
        var profile = profiles.FirstOrDefault(p => p.Matches(tool, formId, formName));
        var body = new JsonObject();
        var lead = new JsonObject();
        var contact = new JsonObject();
        var utm = new JsonObject();
        var tags = new JsonArray();
        var leadFields = new JsonArray();
        var contactFields = new JsonArray();
        var message = new List<string>();
        var note = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        foreach (var field in fields)
        {
            values.TryAdd(field.Label, field.Value);
            values.TryAdd(field.Key, field.Value);
            if (field.Value.Length == 0 || Quiet.Contains(field.Key))
            {
                continue;
            }

            if (field.Key.StartsWith("utm_", StringComparison.OrdinalIgnoreCase))
            {
                utm[field.Key.ToLowerInvariant()] = field.Value;
                continue;
            }

            var target = profile?.TargetOf(field.Key, field.Label) ?? ZeroConfig(field);
            switch (target?.Kind)
            {
                case TargetKind.ContactName when contact["name"] is null:
                    contact["name"] = field.Value;
                    break;
                case TargetKind.ContactPhone when contact["phone"] is null:
                    contact["phone"] = field.Value;
                    break;
                case TargetKind.ContactEmail when contact["email"] is null:
                    contact["email"] = field.Value;
                    break;
                case TargetKind.LeadPrice when lead["price"] is null && Price(field.Value) is { } price:
                    lead["price"] = price;
                    break;
                case TargetKind.Note:
                    message.Add(message.Count == 0 && target.Value is null ? field.Value : $"{field.Label}: {field.Value}");
                    break;
                case TargetKind.Tag:
                    foreach (var tag in field.Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        tags.Add((JsonNode)JsonValue.Create(tag));
                    }

                    break;
                case TargetKind.Utm:
                    utm[target.Value!] = field.Value;
                    break;
                case TargetKind.LeadField:
                    leadFields.Add((JsonNode)CustomField(target.Value!, field.Value));
                    break;
                case TargetKind.ContactField:
                    contactFields.Add((JsonNode)CustomField(target.Value!, field.Value));
                    break;
                case TargetKind.Ignore:
                    break;
                default:
                    note.Add($"{field.Label}: {field.Value}");
                    break;
            }
        }

        foreach (var (label, value) in meta)
        {
            note.Add($"{label}: {value}");
        }

        // Tilda's "send cookies": TILDAUTM=utm_source%3Dgoogle%7C%7C%7Cutm_medium%3Dcpc%7C%7C%7C… (the rest of the cookies are not kept).
        if (Value("COOKIES") is { } cookies)
        {
            foreach (var (name, value) in TildaUtm(cookies))
            {
                utm[name] ??= value;
            }
        }

        if (Value("payment") is { } payment)
        {
            var (amount, order) = TildaPayment(payment);
            if (amount is { } total && lead["price"] is null)
            {
                lead["price"] = total;
            }

            note.Add(order);
        }

        if ((Value("referer") ?? Value("referrer")) is { } referer)
        {
            body["referer"] = referer;
        }

        if (Value("meta[page_url][value]") is { } page)
        {
            body["form_page"] = page;
        }

        if (Value("meta[remote_ip][value]") is { } ip)
        {
            body["ip"] = ip;
        }

        var title = formName ?? SourceTool.Title(tool);
        var who = contact["name"]?.GetValue<string>() ?? contact["phone"]?.GetValue<string>() ?? contact["email"]?.GetValue<string>();
        lead["name"] = profile?.LeadName is { } template ? Fill(template, values) : who is null ? title : $"{title}: {who}";
        if (tags.Count > 0)
        {
            lead["tags"] = tags;
        }

        if (leadFields.Count > 0)
        {
            lead["custom_fields"] = leadFields;
        }

        if (contactFields.Count > 0)
        {
            contact["custom_fields"] = contactFields;
        }

        body["form_name"] = formName ?? profile?.Form ?? (formId is null ? SourceTool.Title(tool) : $"{SourceTool.Title(tool)} {formId}");
        if (formId is not null)
        {
            body["form_id"] = formId;
        }

        profile?.ApplyDefaults(body, lead);
        body["lead"] = lead;
        body["contact"] = contact;
        if (utm.Count > 0)
        {
            body["utm"] = utm;
        }

        var comment = string.Join("\n\n", new[] { string.Join("\n", message), string.Join("\n", note) }.Where(s => s.Length > 0));
        if (comment.Length > 0)
        {
            body["comment"] = comment;
        }

        // Tilda sends the same tranid when it retries: one lead, however many times it comes.
        var idempotencyKey = Value("tranid") is { } tranid ? $"{tool}:{tranid}" : null;
        return new MappedSubmission(body, idempotencyKey, formId ?? formName, profile);
    }

    // Elementor's advanced shape: fields[<id>][id|type|title|value|raw_value|required], form[id|name], meta[<key>][title|value].
    private static List<FormField> ElementorFields(IReadOnlyList<FormField> sent, out List<KeyValuePair<string, string>> meta)
    {
        meta = [];
        var grouped = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var order = new List<string>();
        var plain = new List<FormField>();
        foreach (var field in sent)
        {
            if (Bracketed(field.Key, "fields") is { } part)
            {
                if (!grouped.TryGetValue(part.Id, out var props))
                {
                    grouped[part.Id] = props = new Dictionary<string, string>(StringComparer.Ordinal);
                    order.Add(part.Id);
                }

                props[part.Property] = field.Value;
            }
            else if (Bracketed(field.Key, "meta") is { } metaPart)
            {
                if (metaPart.Property == "value" && metaPart.Id is not ("page_url" or "remote_ip" or "credit") && field.Value.Length > 0)
                {
                    var label = sent.FirstOrDefault(f => f.Key == $"meta[{metaPart.Id}][title]")?.Value is { Length: > 0 } t ? t : metaPart.Id;
                    meta.Add(new(label, field.Value));
                }
            }
            else if (!field.Key.StartsWith("form[", StringComparison.Ordinal))
            {
                plain.Add(field);
            }
        }

        var fields = order.Select(id => grouped[id]).Select(p => new FormField(
            p.GetValueOrDefault("id") is { Length: > 0 } id ? id : "",
            p.GetValueOrDefault("title") is { Length: > 0 } title ? title : p.GetValueOrDefault("id") ?? "",
            p.GetValueOrDefault("type"),
            p.GetValueOrDefault("value") is { Length: > 0 } value ? value : p.GetValueOrDefault("raw_value") ?? "")).ToList();
        return [.. fields, .. plain];
    }

    private static (string Id, string Property)? Bracketed(string key, string root)
    {
        if (!key.StartsWith(root + "[", StringComparison.Ordinal) || !key.EndsWith(']'))
        {
            return null;
        }

        var inner = key[(root.Length + 1)..^1];
        var split = inner.IndexOf("][", StringComparison.Ordinal);
        return split > 0 ? (inner[..split], inner[(split + 2)..]) : null;
    }

    private static Target? ZeroConfig(FormField field)
    {
        switch (field.Type)
        {
            case "tel":
                return Target.ContactPhoneTarget;
            case "email":
                return Target.ContactEmailTarget;
            case "textarea":
                return Target.MessageTarget;
        }

        foreach (var name in new[] { field.Key, field.Label })
        {
            if (Known.TryGetValue(Normalize(name), out var target))
            {
                return target;
            }
        }

        return null;
    }

    // "your-name" → "name", "Ваше имя" → "вашеимя", "Telefon raqam" → "telefonraqam".
    private static string Normalize(string key)
    {
        var text = key.Trim().ToLowerInvariant();
        if (text.StartsWith("your-", StringComparison.Ordinal) || text.StartsWith("your_", StringComparison.Ordinal))
        {
            text = text[5..];
        }

        return new string(text.Where(char.IsLetterOrDigit).ToArray());
    }

    private static JsonObject CustomField(string name, string value)
    {
        var parts = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return parts.Length > 1
            ? new JsonObject { ["field_name"] = name, ["value"] = new JsonArray([.. parts.Select(p => (JsonNode)JsonValue.Create(p))]) }
            : new JsonObject { ["field_name"] = name, ["value"] = value };
    }

    // "1 500", "1500.00", "1,500 so'm" → 1500.
    private static long? Price(string text)
    {
        var digits = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsAsciiDigit(c))
            {
                digits.Append(c);
            }
            else if (c is '.' && digits.Length > 0)
            {
                break;
            }
        }

        return digits.Length is > 0 and <= 15 ? long.Parse(digits.ToString(), CultureInfo.InvariantCulture) : null;
    }

    private static IEnumerable<KeyValuePair<string, string>> TildaUtm(string cookies)
    {
        foreach (var cookie in cookies.Split(';', StringSplitOptions.TrimEntries))
        {
            if (!cookie.StartsWith("TILDAUTM=", StringComparison.Ordinal))
            {
                continue;
            }

            string decoded;
            try
            {
                decoded = Uri.UnescapeDataString(cookie["TILDAUTM=".Length..]);
            }
            catch (UriFormatException)
            {
                yield break;
            }

            foreach (var pair in decoded.Split("|||", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && pair[..equals].StartsWith("utm_", StringComparison.OrdinalIgnoreCase) && pair[(equals + 1)..] is { Length: > 0 } value)
                {
                    yield return new(pair[..equals].ToLowerInvariant(), value);
                }
            }
        }
    }

    // Tilda's shop: payment is a JSON string with orderid, amount and products (names, or objects with name/quantity/amount).
    private static (long? Amount, string Note) TildaPayment(string payment)
    {
        try
        {
            if (JsonNode.Parse(payment) is not JsonObject order)
            {
                return (null, "Payment: " + payment);
            }

            var text = new StringBuilder("Order");
            if (Plain(order["orderid"]) is { } id)
            {
                text.Append(' ').Append(id);
            }

            text.Append(':');
            if (order["products"] is JsonArray products)
            {
                foreach (var product in products)
                {
                    text.Append("\n- ").Append(product switch
                    {
                        JsonObject p => string.Join(", ", new[] { Plain(p["name"]), Plain(p["quantity"]) is { } q ? "× " + q : null, Plain(p["amount"]) }.Where(s => s is not null)),
                        _ => Plain(product) ?? "",
                    });
                }
            }

            foreach (var (name, value) in order)
            {
                if (name is not ("orderid" or "products") && Plain(value) is { Length: > 0 } plain)
                {
                    text.Append('\n').Append(name).Append(": ").Append(plain);
                }
            }

            return (Plain(order["amount"]) is { } amount ? Price(amount) : null, text.ToString());
        }
        catch (JsonException)
        {
            return (null, "Payment: " + payment);
        }
    }

    private static string? Plain(JsonNode? node) => node is JsonValue value
        ? value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            _ => null,
        }
        : null;

    private static string Fill(string template, Dictionary<string, string> values) => Leads.TextTemplate.Render(template, values.GetValueOrDefault, unknown: "");

    private static Dictionary<string, Target> Build(params (Target Target, string[] Names)[] groups)
    {
        var known = new Dictionary<string, Target>(StringComparer.Ordinal);
        foreach (var (target, names) in groups)
        {
            foreach (var name in names)
            {
                known[name] = target;
            }
        }

        return known;
    }
}

internal sealed record MappedSubmission(JsonObject Body, string? IdempotencyKey, string? Form, SourceProfile? Profile);
