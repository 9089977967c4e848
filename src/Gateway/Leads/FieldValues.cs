using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Leads;

// A converted field: amoCRM's values, or why the caller's value cannot be one.
internal readonly record struct FieldConversion(JsonArray? Values, string? Problem)
{
    public static FieldConversion Fail(string problem) => new(null, problem);
}

// The caller's plain values made into what each amoCRM field type takes: people send "31.05.2024", "yes" and
// "1 500,50"; amoCRM wants Unix seconds, a JSON bool and a number, and refuses the whole lead otherwise.
internal static class FieldValues
{
    private static readonly FrozenSet<string> True = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "true", "1", "yes", "y", "on", "да", "ha", "checked");

    private static readonly FrozenSet<string> False = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "false", "0", "no", "n", "off", "нет", "yo'q", "yo‘q", "yo’q", "yo`q", "yoʻq", "yoq", "unchecked");

    public const string DateShapes = "Unix seconds, 2024-05-31, 2024-05-31T14:30:00+05:00, 31.05.2024 or 31.05.2024 14:30";

    public static bool IsDateType(string type) => type is "date" or "date_time" or "birthday";

    // Whether turning this field's values into amoCRM's needs the account's time zone (a date without its offset).
    public static bool NeedsTimeZone(AmoField field, CustomFieldInput input) =>
        !input.Raw && IsDateType(field.Type) && input.Values.OfType<JsonObject>().Any(v => Text(v["value"]) is { } text && FieldDates.Parse(text) is { Local: not null });

    public static FieldConversion Convert(AmoField field, CustomFieldInput input, TimeZoneInfo? zone, AmoValueFit fit, string label)
    {
        if (input.Raw)
        {
            return new(FitText(input.Values, fit, label), null);
        }

        return field.Type switch
        {
            "select" or "radiobutton" => input.Values.Count == 1 ? Options(field, input.Values) : FieldConversion.Fail($"{field.Name} takes one option"),
            "multiselect" => Options(field, input.Values),
            "checkbox" => Each(input.Values, v => Checkbox(field, v)),
            "numeric" => Each(input.Values, v => Numeric(field, v)),
            "date" or "date_time" or "birthday" => Each(input.Values, v => Date(field, v, zone)),
            "url" => Each(input.Values, v => Url(field, v, fit, label)),
            _ => new(FitText(input.Values, fit, label), null),
        };
    }

    private static FieldConversion Each(JsonArray values, Func<JsonNode?, (JsonNode? Value, string? Problem)> convert)
    {
        var result = new JsonArray();
        foreach (var entry in values)
        {
            var (value, problem) = convert(entry?["value"]);
            if (problem is not null)
            {
                return FieldConversion.Fail(problem);
            }

            result.Add((JsonNode)new JsonObject { ["value"] = value });
        }

        return new(result, null);
    }

    // An option by its id, its code or its text, in any case; the answer lists the valid ones when none matches.
    private static FieldConversion Options(AmoField field, JsonArray values)
    {
        var result = new JsonArray();
        foreach (var entry in values.OfType<JsonObject>())
        {
            AmoFieldOption? chosen = null;
            string given;
            if (entry["enum_id"] is { } enumId)
            {
                given = enumId.ToJsonString();
                chosen = field.Options.FirstOrDefault(o => given == o.Id.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                given = Text(entry["value"])?.Trim() ?? "";
                chosen = field.Options.FirstOrDefault(o => string.Equals(o.Value.Trim(), given, StringComparison.OrdinalIgnoreCase))
                    ?? field.Options.FirstOrDefault(o => o.Code is { Length: > 0 } && string.Equals(o.Code, given, StringComparison.OrdinalIgnoreCase))
                    ?? field.Options.FirstOrDefault(o => given == o.Id.ToString(CultureInfo.InvariantCulture));
            }

            if (chosen is null)
            {
                // The caller's value is not repeated: an answer never carries what a visitor typed.
                return FieldConversion.Fail($"{field.Name} has no such option; valid: {string.Join(", ", field.Options.Select(o => o.Value))}");
            }

            result.Add((JsonNode)new JsonObject { ["enum_id"] = chosen.Id });
        }

        return new(result, null);
    }

    private static (JsonNode?, string?) Checkbox(AmoField field, JsonNode? value)
    {
        if (value is JsonValue flag && flag.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return (flag.GetValue<bool>(), null);
        }

        var text = Text(value)?.Trim() ?? "";
        return True.Contains(text) ? (true, null)
            : False.Contains(text) ? (false, null)
            : (null, $"{field.Name} is a checkbox: true/false, 1/0, yes/no, on/off, да/нет or ha/yo'q");
    }

    private static (JsonNode?, string?) Numeric(AmoField field, JsonNode? value)
    {
        if (value is JsonValue number && number.GetValueKind() == JsonValueKind.Number)
        {
            return (number.DeepClone(), null);
        }

        return ParseNumber(Text(value) ?? "") is { } parsed
            ? (JsonValue.Create(parsed), null)
            : (null, $"{field.Name} takes a number, such as 1500, 1 500,50 or 1,500.50");
    }

    // "1 500,50", "1,500.50", "1.500,50", "1500.5": spaces group digits; of ',' and '.', the last one present is the
    // decimal mark when both are, and a lone one is the decimal mark unless it repeats (1,500,000).
    internal static decimal? ParseNumber(string text)
    {
        var compact = new StringBuilder(text.Length);
        foreach (var c in text.Trim())
        {
            if (!char.IsWhiteSpace(c) && c != '\'' && c != '_')
            {
                compact.Append(c);
            }
        }

        var s = compact.ToString();
        if (s.Length == 0)
        {
            return null;
        }

        var lastComma = s.LastIndexOf(',');
        var lastDot = s.LastIndexOf('.');
        if (lastComma >= 0 && lastDot >= 0)
        {
            var (mark, group) = lastComma > lastDot ? (',', '.') : ('.', ',');
            s = s.Replace(group.ToString(), "", StringComparison.Ordinal).Replace(mark, '.');
        }
        else if (lastComma >= 0 || lastDot >= 0)
        {
            var mark = lastComma >= 0 ? ',' : '.';
            s = s.Count(c => c == mark) > 1 ? s.Replace(mark.ToString(), "", StringComparison.Ordinal) : s.Replace(mark, '.');
        }

        return decimal.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
    }

    private static (JsonNode?, string?) Date(AmoField field, JsonNode? value, TimeZoneInfo? zone)
    {
        var parsed = value is JsonValue number && number.GetValueKind() == JsonValueKind.Number && number.TryGetValue<long>(out var seconds)
            ? FieldDates.FromUnix(seconds)
            : FieldDates.Parse(Text(value) ?? "");
        if (parsed is null)
        {
            return (null, $"{field.Name} takes a date: {DateShapes}");
        }

        return (parsed.Value.ToUnixSeconds(zone ?? TimeZoneInfo.Utc), null);
    }

    // amoCRM wants a URL; a bare host and path (mysite.uz/page) is what people type, and means its http address.
    private static (JsonNode?, string?) Url(AmoField field, JsonNode? value, AmoValueFit fit, string label)
    {
        var text = Text(value)?.Trim() ?? "";
        if (!text.Contains("://", StringComparison.Ordinal) && text.Contains('.', StringComparison.Ordinal) && !text.Contains(' ', StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            return (null, $"{field.Name} takes a web address, such as https://mysite.uz/page");
        }

        return (fit.Fit(label, text), null);
    }

    // Every text value cut to fit; several values of one field keep one label each.
    public static JsonArray FitText(JsonArray values, AmoValueFit fit, string label)
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

    private static string? Text(JsonNode? node) =>
        node is JsonValue value
            ? value.GetValueKind() switch
            {
                JsonValueKind.String => value.GetValue<string>(),
                JsonValueKind.Number => value.ToJsonString(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            }
            : null;
}
