using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Gateway.Hosting;

namespace Gateway.Operations;

internal static class HealthApi
{
    public static void MapHealth(this IEndpointRouteBuilder routes)
    {
        // Liveness stays the old answer; readiness says whether the gateway can do its job.
        routes.MapGet("/health", () => Envelope.Ok(new Liveness("ok"), "Gateway is running")).AllowAnonymous();
        routes.MapGet("/health/ready", ReadyAsync).AllowAnonymous();
    }

    // 503 only when leads cannot even be stored. Without a usable token the gateway still accepts and keeps leads
    // and must keep serving /oauth/authorize: "degraded" with 200, so a load balancer never hides the way to fix it.
    // A probe needs only the word; the account host, token state and queue counts are an admin's.
    private static async Task<IResult> ReadyAsync(HttpContext context, GatewayStatus status, CancellationToken cancellationToken)
    {
        var readiness = await CheckAsync(status, cancellationToken);
        if (!Security.Scopes.IsAdmin(context))
        {
            readiness = new Readiness(readiness.Status, null, null);
        }

        return readiness.Status switch
        {
            NotReady => Envelope.Fail(StatusCodes.Status503ServiceUnavailable, "Gateway is not ready", readiness),
            Degraded => Envelope.Ok(readiness, "Gateway is running but cannot deliver to amoCRM"),
            _ => Envelope.Ok(readiness),
        };
    }

    private const string NotReady = "not_ready";
    private const string Degraded = "degraded";

    private static async Task<Readiness> CheckAsync(GatewayStatus status, CancellationToken cancellationToken)
    {
        var checks = new JsonObject();
        if (!await status.DatabaseReachableAsync(cancellationToken))
        {
            checks["database"] = "unavailable";
            return new Readiness(NotReady, null, checks);
        }

        checks["database"] = "ok";
        IReadOnlyList<AccountStatus> accounts;
        try
        {
            accounts = await status.AccountsAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A readiness probe answers "not ready", never a 500.
            checks["token"] = "unavailable";
            return new Readiness(NotReady, null, checks);
        }

        var configured = accounts[0];
        checks["token"] = configured.TokenState;
        checks["queue"] = await status.Diagnostics.QueueAsync(configured.Account, cancellationToken);
        checks["accounts"] = new JsonArray([.. accounts.Select(a => (JsonNode)new JsonObject
        {
            ["account"] = a.Account,
            ["token"] = a.TokenState,
            ["can_deliver"] = a.CanDeliver,
            ["queued"] = a.Queue.Queued + a.Queue.Delivering,
            ["failed"] = a.Queue.Failed,
            ["oldest_queued_age_seconds"] = a.OldestQueuedAgeSeconds,
        })]);
        // Re-authorization required is a problem to fix even while the old access token still delivers.
        var degraded = accounts.Where(a => (!a.CanDeliver || a.TokenState == Amo.Tokens.TokenStates.ReauthorizationRequired) && (a == configured || a.Queue.Queued + a.Queue.Delivering > 0)).Select(a => $"{a.Account}: amoCRM token {a.TokenState}; leads are kept until /oauth/authorize is completed").ToList();
        return degraded.Count == 0 ? new Readiness("ready", null, checks) : new Readiness(Degraded, degraded, checks);
    }
}

internal sealed record Liveness(string Status);

// "problems" only when degraded; "checks" (and problems) only for an admin.
internal sealed record Readiness(
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Problems,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonObject? Checks);
