using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Gateway.Sources;

// One field a form sent, in the order sent: its key as sent, the label a person reads, the tool's field type where the
// tool says it (Elementor), and its text. Checkbox groups (key[] or repeated keys) are one field, values joined by "; ".
internal sealed record FormField(string Key, string Label, string? Type, string Value);

// A body as the tools send it: form-encoded (Tilda, Elementor, plain forms), multipart, or flat JSON (CF7, Apps Script).
// Everything that is not readable as fields is a problem in words, never an exception.
internal static class FormFields
{
    public const int MaxFields = 1000;

    public static IReadOnlyList<FormField>? Parse(byte[] body, string? contentType, out string? problem)
    {
        problem = null;
        var pairs = new List<KeyValuePair<string, string>>();
        var mediaType = MediaTypeHeaderValue.TryParse(contentType, out var parsed) ? parsed.MediaType.Value?.ToLowerInvariant() : null;
        var trimmed = body.AsSpan().TrimStart(" \t\r\n"u8);
        if (mediaType is "application/json" || (mediaType is null or "text/plain" && trimmed.Length > 0 && trimmed[0] == (byte)'{'))
        {
            problem = ReadJson(body, pairs);
        }
        else if (mediaType is "multipart/form-data")
        {
            problem = ReadMultipart(body, parsed!, pairs);
        }
        else if (mediaType is null or "application/x-www-form-urlencoded" or "text/plain")
        {
            problem = ReadUrlEncoded(body, pairs);
        }
        else
        {
            problem = $"a body of type {Printable(mediaType)} is not a form: send form fields (application/x-www-form-urlencoded or multipart/form-data) or a flat JSON object";
        }

        if (problem is null && pairs.Count > MaxFields)
        {
            problem = $"the form sent {pairs.Count} fields; at most {MaxFields} are taken";
        }

        return problem is null ? Group(pairs) : null;
    }

    // "interest[]=a&interest[]=b" and "interest=a&interest=b" are one field "interest": "a; b".
    private static List<FormField> Group(List<KeyValuePair<string, string>> pairs)
    {
        var fields = new List<FormField>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (rawKey, value) in pairs)
        {
            var key = rawKey.EndsWith("[]", StringComparison.Ordinal) ? rawKey[..^2] : rawKey;
            if (key.Length == 0)
            {
                continue;
            }

            if (index.TryGetValue(key, out var at))
            {
                var earlier = fields[at];
                fields[at] = earlier with { Value = earlier.Value.Length == 0 ? value : value.Length == 0 ? earlier.Value : earlier.Value + "; " + value };
            }
            else
            {
                index[key] = fields.Count;
                fields.Add(new FormField(key, key, null, value));
            }
        }

        return fields;
    }

    private static string? ReadUrlEncoded(byte[] body, List<KeyValuePair<string, string>> pairs)
    {
        foreach (var part in body.AsSpan().Split((byte)'&'))
        {
            var pair = body.AsSpan(part);
            if (pair.IsEmpty)
            {
                continue;
            }

            var equals = pair.IndexOf((byte)'=');
            var key = Decode(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? "" : Decode(pair[(equals + 1)..]);
            if (key is null || value is null)
            {
                return "the form is not valid UTF-8 (send the form as UTF-8)";
            }

            pairs.Add(new(key.Trim(), value.Trim()));
        }

        return null;
    }

    // '+' is a space, %XX a byte; the bytes must then be UTF-8.
    private static string? Decode(ReadOnlySpan<byte> encoded)
    {
        var bytes = new byte[encoded.Length];
        var length = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var b = encoded[i];
            if (b == (byte)'+')
            {
                bytes[length++] = (byte)' ';
            }
            else if (b == (byte)'%' && i + 2 < encoded.Length && IsHex(encoded[i + 1]) && IsHex(encoded[i + 2]))
            {
                bytes[length++] = (byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2]));
                i += 2;
            }
            else
            {
                bytes[length++] = b;
            }
        }

        var decoded = bytes.AsSpan(0, length);
        return System.Text.Unicode.Utf8.IsValid(decoded) ? Encoding.UTF8.GetString(decoded) : null;
    }

    private static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    private static string? ReadMultipart(byte[] body, MediaTypeHeaderValue type, List<KeyValuePair<string, string>> pairs)
    {
        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        if (string.IsNullOrEmpty(boundary) || boundary.Length > 200)
        {
            return "a multipart form needs its boundary";
        }

        try
        {
            var reader = new MultipartReader(boundary, new MemoryStream(body)) { HeadersCountLimit = 16, HeadersLengthLimit = 16 * 1024 };
            while (reader.ReadNextSectionAsync().GetAwaiter().GetResult() is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || disposition.Name.Value is not { } name)
                {
                    continue;
                }

                using var content = new MemoryStream();
                section.Body.CopyTo(content);
                var key = HeaderUtilities.RemoveQuotes(name).Value ?? "";
                if (disposition.FileName.HasValue || disposition.FileNameStar.HasValue)
                {
                    // Files are not kept: the note says one was sent, with its name.
                    var file = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
                    pairs.Add(new(key, $"(file {file}, {content.Length} bytes, not kept)"));
                    continue;
                }

                var bytes = content.ToArray();
                if (!System.Text.Unicode.Utf8.IsValid(bytes))
                {
                    return "the form is not valid UTF-8 (send the form as UTF-8)";
                }

                pairs.Add(new(key.Trim(), Encoding.UTF8.GetString(bytes).Trim()));
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or FormatException)
        {
            return "the multipart form cannot be read: " + ex.Message;
        }

        return null;
    }

    // A flat object; nested objects become "parent[child]" keys (as a form would name them), arrays of plain values one field.
    private static string? ReadJson(byte[] body, List<KeyValuePair<string, string>> pairs)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return "the body is not valid UTF-8";
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 8, AllowDuplicateProperties = false });
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return "the body is not valid JSON: " + ex.Message;
        }

        if (root is not JsonObject obj)
        {
            return "the body must be a JSON object of field names and values";
        }

        Flatten(obj, "", pairs);
        return null;
    }

    private static void Flatten(JsonObject obj, string prefix, List<KeyValuePair<string, string>> pairs)
    {
        foreach (var (name, value) in obj)
        {
            var key = prefix.Length == 0 ? name : $"{prefix}[{name}]";
            switch (value)
            {
                case null:
                    break;
                case JsonObject inner:
                    Flatten(inner, key, pairs);
                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        if (item is JsonObject nested)
                        {
                            Flatten(nested, key + "[]", pairs);
                        }
                        else if (Text(item) is { } text)
                        {
                            pairs.Add(new(key + "[]", text));
                        }
                    }

                    break;
                default:
                    if (Text(value) is { } plain)
                    {
                        pairs.Add(new(key.Trim(), plain.Trim()));
                    }

                    break;
            }
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue value
        ? value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        }
        : null;

    private static string Printable(string text) => text.Length > 60 ? text[..60] + "…" : text;
}
