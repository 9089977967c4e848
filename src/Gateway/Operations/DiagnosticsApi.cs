using Gateway.Accounts;
using Gateway.Security;
using System.Text.Json.Nodes;
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
        var group = routes.MapGroup("/api/v1/diagnostics").RequireScope(Scopes.Admin).WithTags("Diagnostics");
        group.MapGet("/token-status", TokenStatusAsync);
        group.MapGet("/config", Config);
        group.MapGet("/queue", async (HttpContext context, TokenDiagnostics diagnostics, AccountRegistry registry, CancellationToken ct) =>
            CallerAccount.Of(context, registry) is { } account ? Envelope.Ok(await diagnostics.QueueAsync(account.Key, ct)) : CallerAccount.NotFound());
        return group;
    }

    private static async Task<IResult> TokenStatusAsync(HttpContext context, TokenDiagnostics diagnostics, AccountRegistry registry, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry)?.Key is not { } account)
        {
            return CallerAccount.NotFound();
        }

        // An admin key bound to one account sees that account's row only.
        var accounts = new JsonArray([.. (await diagnostics.DescribeAllAsync(cancellationToken))
            .Where(a => CallerAccount.MaySee(context, (string?)a!["account"] ?? ""))
            .Select(a => a!.DeepClone())]);
        // A copy: the account also stays in the list below, and a node has one parent.
        var data = (accounts.FirstOrDefault(a => (string?)a!["account"] == account)?.DeepClone().AsObject())
            ?? diagnostics.Describe(account, null);
        data["queue"] = await diagnostics.QueueAsync(account, cancellationToken);
        data["accounts"] = accounts;
        return Envelope.Ok(data);
    }

    // What an operator needs to check the setup, and nothing that would let anyone impersonate the gateway.
    private static IResult Config(HttpContext context, AccountRegistry registry, IOptions<AmoOptions> amo, IOptions<GatewayOptions> gateway, Data.Database database)
    {
        if (CallerAccount.Of(context, registry) is not { } a)
        {
            return CallerAccount.NotFound();
        }

        var global = amo.Value;
        return Envelope.Ok(new ConfigView(
            Domain: a.Domain,
            ClientId: Shorten(a.ClientId),
            ClientSecretConfigured: a.ClientSecret.Length > 0,
            RedirectUri: a.RedirectUri,
            BaseUrl: a.BaseUrl?.AbsoluteUri,
            AuthUrl: a.AuthUrl.AbsoluteUri,
            TokenStorage: "database",
            TokenImportPath: a.TokenStoragePath,
            LongLivedTokenConfigured: a.LongLivedToken is not null,
            DataDir: gateway.Value.DataDirFullPath,
            Database: database.Name,
            RateLimitPerSecond: a.RateLimitPerSecond,
            RefreshMarginSeconds: (long)global.RefreshMargin.TotalSeconds,
            KeepaliveAgeSeconds: (long)global.KeepAliveAge.TotalSeconds,
            CacheTtlSeconds: (long)global.CacheTtl.TotalSeconds,
            CorsAllowedOrigins: gateway.Value.CorsAllowedOrigins));
    }

    private static string Shorten(string value) => value.Length <= 8 ? new string('*', value.Length) : value[..8] + "…";
}

internal sealed class TokenDiagnostics(TokenStore store, TokenKeepAlive keepAlive, LeadStore leads, AccountDeliveryStore deliveries, IOptions<AmoOptions> options, TimeProvider time)
{
    public async Task<JsonObject> QueueAsync(string account, CancellationToken cancellationToken)
    {
        var stats = await leads.StatsAsync(account, cancellationToken);
        var delivery = await deliveries.GetAsync(account, cancellationToken);
        var now = time.GetUtcNow();
        return new JsonObject
        {
            ["depth"] = stats.Queued + stats.Delivering,
            ["queued"] = stats.Queued,
            ["delivering"] = stats.Delivering,
            ["failed"] = stats.Failed,
            ["notes_pending"] = stats.NotesPending,
            ["oldest_queued_age_seconds"] = stats.OldestQueuedAgeSeconds(now),
            ["paused_until"] = delivery.PausedUntil is { } until && until > now ? until.ToUnixTimeSeconds() : null,
            ["pause_reason"] = delivery.PausedUntil is { } pausedUntil && pausedUntil > now ? delivery.PauseReason : null,
            ["batch_size"] = delivery.BatchSize,
        };
    }

    public async Task<JsonArray> DescribeAllAsync(CancellationToken cancellationToken) =>
        new([.. (await store.ListAsync(cancellationToken)).Select(t => (JsonNode)Describe(t.Account, t))]);

    // No token material at all: not a prefix, not a length.
    public JsonObject Describe(string account, AmoToken? token)
    {
        var now = time.GetUtcNow();
        var amo = options.Value;
        var state = TokenStatus.StateOf(token, now, amo.RefreshMargin);
        DateTimeOffset? nextKeepAlive = token is { LongLived: false, RefreshToken: not null } ? token.RefreshTokenIssuedAt + amo.KeepAliveAge : null;
        if (nextKeepAlive is not null && keepAlive.NextRunAt is { } run && run > nextKeepAlive)
        {
            nextKeepAlive = run;
        }

        return new JsonObject
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

internal sealed record ConfigView(
    string? Domain,
    string ClientId,
    bool ClientSecretConfigured,
    string RedirectUri,
    string? BaseUrl,
    string AuthUrl,
    string TokenStorage,
    string? TokenImportPath,
    bool LongLivedTokenConfigured,
    string DataDir,
    string Database,
    int RateLimitPerSecond,
    long RefreshMarginSeconds,
    long KeepaliveAgeSeconds,
    long CacheTtlSeconds,
    IReadOnlyList<string> CorsAllowedOrigins);
