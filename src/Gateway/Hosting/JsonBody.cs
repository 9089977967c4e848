using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Security;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

// Reads a JSON body by hand: whatever the content type, bad JSON is a 400 envelope, too much is a 413.
internal readonly record struct JsonBody(JsonNode? Root, IResult? Error)
{
    public static async Task<JsonBody> ReadAsync(HttpContext context)
    {
        var limits = context.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value;
        var maxBytes = limits.MaxBodyBytes;
        if (context.Request.ContentLength > maxBytes)
        {
            return TooLarge(maxBytes);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return TooLarge(maxBytes);
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0 || buffer.ToArray().All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
        {
            return new JsonBody(null, null);
        }

        var bytes = buffer.ToArray();
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return new JsonBody(null, Envelope.Fail(StatusCodes.Status400BadRequest, "Invalid JSON", new InvalidJson("The body is not valid UTF-8")));
        }

        try
        {
            var root = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = limits.MaxJsonDepth, CommentHandling = JsonCommentHandling.Disallow, AllowDuplicateProperties = false });
            Materialize(root);
            return new JsonBody(root, null);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return new JsonBody(null, Envelope.Fail(StatusCodes.Status400BadRequest, "Invalid JSON", new InvalidJson(ex.Message)));
        }
    }

    private static JsonBody TooLarge(int maxBytes) =>
        new(null, Envelope.Fail(StatusCodes.Status413PayloadTooLarge, "Request body too large", new BodyTooLarge(maxBytes)));

    // JsonNode parses lazily: walk it once here so that anything odd fails as a 400 now, not as a 500 later.
    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, value) in obj)
                {
                    Materialize(value);
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    Materialize(item);
                }

                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                _ = value.GetValue<string>();
                break;
        }
    }
}

internal sealed record InvalidJson(string JsonError);

internal sealed record BodyTooLarge(int MaxBytes);
