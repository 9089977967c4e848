using System.Text;
using System.Text.Json.Nodes;
using Gateway.Accounts;
using Gateway.Hosting;
using Gateway.Security;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Gateway.Events;

// POST /hooks/amocrm/{account}/{secret}: amoCRM's webhooks in. Stored with their deliveries, then answered 200 at once
// (amoCRM switches off a webhook that keeps failing or takes over 2 s); forwarding happens behind the answer.
// Admins see and rotate each account's path at /api/v1/admin/events/amocrm-webhook.
internal static partial class AmoWebhooksApi
{
    public const string RouteTemplate = "/hooks/amocrm/{account}/{secret}";
    private const int MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapAmoWebhooks(this IEndpointRouteBuilder routes)
    {
        routes.MapPost(RouteTemplate, ReceiveAsync).AllowAnonymous().WithTags("Events").DisableAntiforgery();
        var admin = routes.MapGroup("/api/v1/admin/events").RequireScope(Scopes.Admin).WithTags("Events");
        admin.MapGet("/amocrm-webhook", ShowAsync);
        admin.MapPost("/amocrm-webhook/rotate", RotateAsync);
        admin.MapGet("/deliveries", ListAsync);
        admin.MapPost("/deliveries/{id:long}/replay", ReplayAsync);
        return routes;
    }

    private static async Task<IResult> ReceiveAsync(string account, string secret, HttpContext context, AccountRegistry registry, WebhookSecretStore secrets,
        IGatewayEvents events, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        // The same answer for an unknown account and a wrong secret: the path tells nothing to someone guessing.
        if (registry.Find(Amo.AmoOptionsSetup.NormalizeHost(account)) is not { } known || !await secrets.IsValidAsync(known.Key, secret, cancellationToken))
        {
            return Envelope.Fail(StatusCodes.Status404NotFound, "Not found");
        }

        var body = await ReadBodyAsync(context.Request, cancellationToken);
        if (body is null)
        {
            return Envelope.Fail(StatusCodes.Status413PayloadTooLarge, $"Webhook body larger than {MaxBodyBytes} bytes");
        }

        IReadOnlyList<GatewayEvent> decoded;
        try
        {
            decoded = AmoWebhookDecoder.Decode(known.Key, QueryHelpers.ParseQuery(body.StartsWith('?') ? body : "?" + body).ToList(), time.GetUtcNow());
        }
        catch (AmoWebhookFormatException ex)
        {
            return Envelope.Fail(StatusCodes.Status400BadRequest, "Webhook body " + ex.Message);
        }

        foreach (var gatewayEvent in decoded)
        {
            await events.PublishAsync(gatewayEvent, cancellationToken);
        }

        var logger = loggers.CreateLogger("Gateway.Events.AmoWebhooks");
        var types = string.Join(',', decoded.Select(e => e.Type).Distinct());
        LogReceived(logger, known.Key, decoded.Count, types);
        return Envelope.Ok(new JsonObject { ["events"] = decoded.Count }, "Webhook received");
    }

    private static async Task<string?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static async Task<IResult> ShowAsync(HttpContext context, AccountRegistry registry, WebhookSecretStore secrets, IOptions<EventsOptions> options, CancellationToken cancellationToken) =>
        CallerAccount.Of(context, registry) is { } account
            ? Envelope.Ok(Describe(account.Key, await secrets.GetOrCreateAsync(account.Key, cancellationToken), options.Value.PublicUrl))
            : CallerAccount.NotFound();

    private static async Task<IResult> RotateAsync(HttpContext context, AccountRegistry registry, WebhookSecretStore secrets, IOptions<EventsOptions> options, CancellationToken cancellationToken) =>
        CallerAccount.Of(context, registry) is { } account
            ? Envelope.Ok(Describe(account.Key, await secrets.RotateAsync(account.Key, cancellationToken), options.Value.PublicUrl), "Webhook secret rotated: update the webhook's address in amoCRM")
            : CallerAccount.NotFound();

    private static JsonObject Describe(string account, string secret, Uri? publicUrl)
    {
        var path = $"/hooks/amocrm/{Uri.EscapeDataString(account)}/{secret}";
        return new JsonObject
        {
            ["account"] = account,
            ["path"] = path,
            ["url"] = publicUrl is null ? null : new Uri(publicUrl, path).AbsoluteUri,
        };
    }

    private static async Task<IResult> ListAsync(HttpContext context, AccountRegistry registry, EventStore store, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var status = context.Request.Query["status"].ToString() is { Length: > 0 } s ? s : null;
        if (status is not (null or DeliveryStatus.Queued or DeliveryStatus.Delivered or DeliveryStatus.Dead))
        {
            return Envelope.Fail(StatusCodes.Status400BadRequest, "status must be queued, delivered or dead");
        }

        var eventId = context.Request.Query["event_id"].ToString() is { Length: > 0 } e ? e : null;
        var rows = await store.ListAsync(account.Key, status, eventId, 100, cancellationToken);
        return Envelope.Ok(new JsonObject { ["deliveries"] = new JsonArray(rows.Select(r => (JsonNode)r.Describe()).ToArray()) });
    }

    private static async Task<IResult> ReplayAsync(long id, HttpContext context, AccountRegistry registry, EventStore store, EventSignal signal, IOptions<EventsOptions> options, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is not { } row || !CallerAccount.MaySee(context, row.Account))
        {
            return Envelope.Fail(StatusCodes.Status404NotFound, $"Delivery {id} not found");
        }

        await store.ReplayAsync(id, options.Value.MaxAge, cancellationToken);
        signal.Ring();
        return Envelope.Ok((await store.GetAsync(id, cancellationToken))!.Describe(), $"Delivery {id} queued again");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "amoCRM webhook for {Account}: {Count} events ({Types})")]
    private static partial void LogReceived(ILogger logger, string account, int count, string types);
}
