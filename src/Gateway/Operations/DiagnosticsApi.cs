using Gateway.Amo;
using Gateway.Amo.Tokens;
using Gateway.Hosting;
using Gateway.Outbox;
using Microsoft.Extensions.Options;

namespace Gateway.Operations;

internal static class DiagnosticsApi
{
    public static RouteGroupBuilder MapDiagnostics(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/diagnostics").RequireAuthorization().WithTags("Diagnostics");
        group.MapGet("/token-status", TokenStatusAsync);
        group.MapGet("/config", Config);
        group.MapGet("/queue", async (TokenDiagnostics diagnostics, IOptions<AmoOptions> options, CancellationToken ct) =>
            Envelope.Ok(await diagnostics.QueueAsync(options.Value.AccountKey, ct)));
        return group;
    }

    private static async Task<IResult> TokenStatusAsync(TokenDiagnostics diagnostics, IOptions<AmoOptions> options, CancellationToken cancellationToken)
    {
        var accounts = await diagnostics.DescribeAllAsync(cancellationToken);
        var configured = accounts.FirstOrDefault(a => (string?)a["account"] == options.Value.AccountKey)
            ?? diagnostics.Describe(options.Value.AccountKey, null);
        var data = new Dictionary<string, object?>(configured)
        {
            ["queue"] = await diagnostics.QueueAsync(options.Value.AccountKey, cancellationToken),
            ["accounts"] = accounts,
        };
        return Envelope.Ok(data);
    }

    // What an operator needs to check the setup, and nothing that would let anyone impersonate the gateway.
    private static IResult Config(IOptions<AmoOptions> amo, IOptions<GatewayOptions> gateway, Data.Database database)
    {
        var a = amo.Value;
        return Envelope.Ok(new
        {
            domain = a.Domain,
            client_id = Shorten(a.ClientId),
            client_secret_configured = a.ClientSecret.Length > 0,
            redirect_uri = a.RedirectUri,
            base_url = a.BaseUrl?.AbsoluteUri,
            auth_url = a.AuthUrl.AbsoluteUri,
            token_storage = "database",
            token_import_path = a.TokenStoragePath,
            long_lived_token_configured = a.LongLivedToken is not null,
            data_dir = gateway.Value.DataDirFullPath,
            database = database.Name,
            rate_limit_per_second = a.RateLimitPerSecond,
            refresh_margin_seconds = (long)a.RefreshMargin.TotalSeconds,
            keepalive_age_seconds = (long)a.KeepAliveAge.TotalSeconds,
            cache_ttl_seconds = (long)a.CacheTtl.TotalSeconds,
            cors_allowed_origins = gateway.Value.CorsAllowedOrigins,
        });
    }

    private static string Shorten(string value) => value.Length <= 8 ? new string('*', value.Length) : value[..8] + "…";
}

internal sealed class TokenDiagnostics(TokenStore store, TokenKeepAlive keepAlive, LeadStore leads, AccountDeliveryStore deliveries, IOptions<AmoOptions> options, TimeProvider time)
{
    public async Task<Dictionary<string, object?>> QueueAsync(string account, CancellationToken cancellationToken)
    {
        var stats = await leads.StatsAsync(account, cancellationToken);
        var delivery = await deliveries.GetAsync(account, cancellationToken);
        var now = time.GetUtcNow();
        return new Dictionary<string, object?>
        {
            ["depth"] = stats.Queued + stats.Delivering,
            ["queued"] = stats.Queued,
            ["delivering"] = stats.Delivering,
            ["failed"] = stats.Failed,
            ["notes_pending"] = stats.NotesPending,
            ["oldest_queued_age_seconds"] = stats.OldestQueuedAt is { } oldest ? Math.Max(0, (long)(now - oldest).TotalSeconds) : null,
            ["paused_until"] = delivery.PausedUntil is { } until && until > now ? until.ToUnixTimeSeconds() : null,
            ["pause_reason"] = delivery.PausedUntil is { } pausedUntil && pausedUntil > now ? delivery.PauseReason : null,
            ["batch_size"] = delivery.BatchSize,
        };
    }

    public async Task<List<Dictionary<string, object?>>> DescribeAllAsync(CancellationToken cancellationToken) =>
        (await store.ListAsync(cancellationToken)).Select(t => Describe(t.Account, t)).ToList();

    // No token material at all: not a prefix, not a length.
    public Dictionary<string, object?> Describe(string account, AmoToken? token)
    {
        var now = time.GetUtcNow();
        var amo = options.Value;
        var state = TokenStatus.StateOf(token, now, amo.RefreshMargin);
        DateTimeOffset? nextKeepAlive = token is { LongLived: false, RefreshToken: not null } ? token.RefreshTokenIssuedAt + amo.KeepAliveAge : null;
        if (nextKeepAlive is not null && keepAlive.NextRunAt is { } run && run > nextKeepAlive)
        {
            nextKeepAlive = run;
        }

        return new Dictionary<string, object?>
        {
            ["account"] = account,
            ["has_token"] = token is not null,
            ["state"] = state,
            ["is_valid"] = state is "valid" or "expiring",
            ["state_reason"] = token?.StateReason,
            ["long_lived"] = token?.LongLived ?? false,
            ["base_domain"] = token?.BaseDomain,
            ["expires_at"] = token?.ExpiresAt.ToUnixTimeSeconds(),
            ["expires_at_iso"] = token?.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["seconds_left"] = token is null ? null : Math.Max(0, (long)(token.ExpiresAt - now).TotalSeconds),
            ["last_refresh_at"] = token?.LastRefreshAt?.ToUnixTimeSeconds(),
            ["last_refresh_outcome"] = token?.LastRefreshOutcome,
            ["failed_refreshes"] = token?.FailedRefreshes ?? 0,
            ["next_refresh_attempt_at"] = token?.NextRefreshAttemptAt?.ToUnixTimeSeconds(),
            ["refresh_token_age_seconds"] = token is { RefreshToken: not null } ? (long)(now - token.RefreshTokenIssuedAt).TotalSeconds : null,
            ["next_keepalive_at"] = nextKeepAlive?.ToUnixTimeSeconds(),
        };
    }
}
