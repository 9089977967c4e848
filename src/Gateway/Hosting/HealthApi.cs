using Dapper;
using Gateway.Amo;
using Gateway.Data;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

internal static class HealthApi
{
    public static void MapHealth(this IEndpointRouteBuilder routes)
    {
        // Liveness stays the old answer; readiness says whether the gateway can do its job.
        routes.MapGet("/health", () => Envelope.Ok(new { status = "ok" }, "Gateway is running")).AllowAnonymous();
        routes.MapGet("/health/ready", ReadyAsync).AllowAnonymous();
    }

    private static async Task<IResult> ReadyAsync(Database database, TokenStore tokens, Diagnostics.TokenDiagnostics diagnostics, IOptions<AmoOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var checks = new Dictionary<string, object?>();
        var ready = true;
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await connection.ExecuteScalarAsync<long>("SELECT 1");
            checks["database"] = "ok";
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            checks["database"] = "unavailable";
            ready = false;
        }

        if (ready)
        {
            try
            {
                var token = await tokens.GetAsync(options.Value.AccountKey, cancellationToken);
                var state = TokenStatus.StateOf(token, time.GetUtcNow(), options.Value.RefreshMargin);
                checks["token"] = state;
                ready = state is "valid" or "expiring" || (state == "expired" && token?.RefreshToken is not null);
                checks["queue"] = await diagnostics.QueueAsync(options.Value.AccountKey, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A readiness probe answers "not ready", never a 500.
                checks.TryAdd("token", "unavailable");
                ready = false;
            }
        }

        var data = new { status = ready ? "ready" : "not_ready", checks };
        return ready ? Envelope.Ok(data) : Envelope.Fail(StatusCodes.Status503ServiceUnavailable, "Gateway is not ready", data);
    }
}
