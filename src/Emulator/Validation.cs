using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Emulator;

internal sealed record FieldError(string Code, string Path, string Detail);

// One batch item's errors, keyed the way amoCRM keys them: the item's request_id, or its index.
internal sealed class ItemValidation(string requestId)
{
    public string RequestId { get; } = requestId;

    public List<FieldError> Errors { get; } = [];

    public bool IsValid => Errors.Count == 0;

    // amoCRM tells an absent field (FieldMissing) from one sent empty (NotBlank).
    public void FieldMissing(string path) => Errors.Add(new("FieldMissing", path, "This field is missing."));

    public void NotBlank(string path) => Errors.Add(new("NotBlank", path, "This value should not be blank."));

    public void InvalidType(string path, string type) => Errors.Add(new("InvalidType", path, $"This value should be of type {type}."));

    public void InvalidUrl(string path) => Errors.Add(new("InvalidUrl", path, "This value is not a valid URL."));

    public void NotSupportedChoice(string path) => Errors.Add(new("NotSupportedChoice", path, "The value you selected is not a valid choice."));

    // amoCRM's exact code for an over-long value is not documented; the message follows its Symfony-style wording.
    public void TooLong(string path, int max) => Errors.Add(new("InvalidLength", path, $"This value is too long. It should have {max.ToString(CultureInfo.InvariantCulture)} characters or less."));

    public void TooMany(string path, int max) => Errors.Add(new("InvalidType", path, $"This collection should contain {max.ToString(CultureInfo.InvariantCulture)} element or less."));
}

internal static class JsonRead
{
    public static bool IsMissing(JsonNode? node) => node is null || node.GetValueKind() == JsonValueKind.Null;

    public static bool TryGetInteger(JsonNode? node, out long value)
    {
        value = 0;
        return node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out value);
    }

    public static bool TryGetString(JsonNode? node, out string value)
    {
        value = "";
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            value = v.GetValue<string>();
            return true;
        }

        return false;
    }

    // What amoCRM accepts where it wants text: a string, or a number it turns into text.
    public static string? AsScalarText(JsonNode? node) => node switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        _ => null,
    };

    public static bool IsNumeric(JsonNode? node) => node switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => true,
        JsonValue v when v.GetValueKind() == JsonValueKind.String =>
            double.TryParse(v.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out _),
        _ => false,
    };

    // A date as amoCRM takes it: Unix seconds (a number or its digits) or an RFC 3339 string with its offset.
    public static long? UnixSeconds(JsonNode? node)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var number))
        {
            return number;
        }

        if (TryGetString(node, out var text))
        {
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var digits))
            {
                return digits;
            }

            if (text.Length >= 20 && text[10] is 'T' or 't'
                && DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var stamp)
                && (text.EndsWith('Z') || text.EndsWith('z') || text[^3] == ':'))
            {
                return stamp.ToUnixTimeSeconds();
            }
        }

        return null;
    }

    // request_id may come as a string or a number; amoCRM echoes it back as a string.
    public static string? RequestId(JsonNode? node) => AsScalarText(node);

    public static JsonNode? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
