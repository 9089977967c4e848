using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Hosting;

namespace Gateway.Leads;

internal static class LeadsApi
{
    public static RouteGroupBuilder MapLeads(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/leads").RequireAuthorization().WithTags("Leads");
        group.MapPost("/unsorted", SubmitUnsortedAsync);
        return group;
    }

    private static async Task<IResult> SubmitUnsortedAsync(HttpContext context, LeadSender sender)
    {
        var body = await JsonBody.ReadAsync(context);
        if (body.Error is not null)
        {
            return body.Error;
        }

        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var request = UnsortedLeadRequest.Parse(body.Root, errors);
        if (request is null)
        {
            return Envelope.ValidationFailed(errors);
        }

        return await sender.SubmitAsync(request, context.Connection.RemoteIpAddress?.ToString());
    }
}

// Reads a JSON body by hand: whatever the content type, bad JSON is a 400 envelope, too much is a 413.
internal readonly record struct JsonBody(JsonNode? Root, IResult? Error)
{
    public const int MaxBytes = 64 * 1024;
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 32, CommentHandling = JsonCommentHandling.Disallow };

    public static async Task<JsonBody> ReadAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return new JsonBody(null, Envelope.Fail(StatusCodes.Status413PayloadTooLarge, "Request body too large", new { max_bytes = MaxBytes }));
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0 || buffer.ToArray().All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
        {
            return new JsonBody(null, null);
        }

        try
        {
            return new JsonBody(JsonNode.Parse(buffer.ToArray(), documentOptions: Options), null);
        }
        catch (JsonException ex)
        {
            return new JsonBody(null, Envelope.Fail(StatusCodes.Status400BadRequest, "Invalid JSON", new { json_error = ex.Message }));
        }
    }
}
