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
    private static async Task<IResult> ReadyAsync(GatewayStatus status, CancellationToken cancellationToken)
    {
        var checks = new JsonObject();
        if (!await status.DatabaseReachableAsync(cancellationToken))
        {
            checks["database"] = "unavailable";
            return Envelope.Fail(StatusCodes.Status503ServiceUnavailable, "Gateway is not ready", new Readiness("not_ready", null, checks));
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
            return Envelope.Fail(StatusCodes.Status503ServiceUnavailable, "Gateway is not ready", new Readiness("not_ready", null, checks));
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
        return degraded.Count == 0
            ? Envelope.Ok(new Readiness("ready", null, checks))
            : Envelope.Ok(new Readiness("degraded", degraded, checks), "Gateway is running but cannot deliver to amoCRM");
    }
}

internal sealed record Liveness(string Status);

// "problems" only when degraded, as the anonymous shapes before it had.
internal sealed record Readiness(
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Problems,
    JsonObject Checks);
