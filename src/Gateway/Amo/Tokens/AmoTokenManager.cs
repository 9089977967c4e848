using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Gateway.Amo.Pacing;
using Gateway.Data;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Tokens;

internal enum RefreshTrigger
{
    Expiring,   // inside the refresh margin
    Rejected,   // the API answered 401 to this access token
    KeepAlive,  // the refresh token is getting old
    Due,        // either of the above (CLI without --force)
    Admin,      // an operator asked for it explicitly (CLI)
}

internal sealed record AccessTokenResult(AmoToken? Token, string? Problem, bool Transient = false)
{
    public bool IsAvailable => Token is not null && Problem is null;
}

// Owns the refresh of single-use refresh tokens: one refresh per rotation, across threads and processes.
internal sealed partial class AmoTokenManager(
    TokenStore store,
    LeaseStore leases,
    AmoOAuthClient oauth,
    AmoRateLimiter limiter,
    IOptions<AmoOptions> options,
    TimeProvider time,
    Observability.GatewayMetrics metrics,
    ILogger<AmoTokenManager> logger)
{
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(6);
    private static readonly TimeSpan RejectedFreshTokenBackoff = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, SemaphoreSlim> gates = new(StringComparer.Ordinal);

    public async Task<AccessTokenResult> GetAccessTokenAsync(string account, CancellationToken cancellationToken)
    {
        var token = await store.GetAsync(account, cancellationToken);
        if (token is null)
        {
            return new AccessTokenResult(null, "No amoCRM token: authorize the gateway at /oauth/authorize");
        }

        if (token.Undecryptable)
        {
            return new AccessTokenResult(token, $"amoCRM authorization required: {token.StateReason}");
        }

        if (NeedsRefresh(token, RefreshTrigger.Expiring, null) && CanRefresh(token))
        {
            token = await RefreshAsync(account, RefreshTrigger.Expiring, null, cancellationToken) ?? token;
        }

        // A token that failed to refresh is still used while it lives; amoCRM is the judge.
        return token.IsExpired(time.GetUtcNow())
            ? new AccessTokenResult(token, token.State == TokenStates.ReauthorizationRequired
                ? $"amoCRM authorization required: {token.StateReason}"
                : "The amoCRM access token has expired and amoCRM could not be reached to refresh it", token.State != TokenStates.ReauthorizationRequired)
            : new AccessTokenResult(token, null);
    }

    // After a 401: refresh unless someone already replaced the rejected token.
    public async Task<AmoToken?> RefreshRejectedAsync(string account, string rejectedAccessToken, CancellationToken cancellationToken)
    {
        var token = await RefreshAsync(account, RefreshTrigger.Rejected, rejectedAccessToken, cancellationToken);
        return token is not null && token.AccessToken != rejectedAccessToken && !token.IsExpired(time.GetUtcNow()) ? token : null;
    }

    // A 401 to a token that was just refreshed: amoCRM has withdrawn access (integration disabled or revoked).
    public async Task ReportRejectedFreshTokenAsync(AmoToken token, CancellationToken cancellationToken)
    {
        const string reason = "amoCRM rejected a freshly refreshed access token (integration disabled or access revoked); re-authorize at /oauth/authorize";
        // The backoff stops every following 401 from spending another refresh token on an account amoCRM has shut.
        await store.RecordRefreshFailureAsync(token.Account, token.Generation, "rejected", reason, time.GetUtcNow() + RejectedFreshTokenBackoff, CancellationToken.None);
        LogReauthorizationRequired(token.Account, reason);
    }

    // Consent, import and CLI exchange save under the refresh's gate and lease, so a refresh in flight cannot overwrite them.
    public async Task<AmoToken> StoreGrantAsync(string account, TokenPair pair, bool longLived, string outcome, TokenImport? import, CancellationToken cancellationToken) =>
        (await StoreGrantIfAsync(account, pair, longLived, outcome, import, _ => true, cancellationToken))!;

    // stillWanted sees the token as stored under the lease: a decision taken before it (an import) may be stale by then.
    public async Task<AmoToken?> StoreGrantIfAsync(string account, TokenPair pair, bool longLived, string outcome, TokenImport? import, Func<AmoToken?, bool> stillWanted, CancellationToken cancellationToken)
    {
        var gate = GateFor(account);
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var lease = await AcquireLeaseAsync(account, cancellationToken);
            if (!stillWanted(await store.GetAsync(account, cancellationToken)))
            {
                return null;
            }

            return await store.SaveAsync(account, pair, longLived, outcome, false, import, CancellationToken.None);
        }
        finally
        {
            gate.Release();
        }
    }

    public Task<AmoToken?> RefreshAsync(string account, RefreshTrigger trigger, CancellationToken cancellationToken) =>
        RefreshAsync(account, trigger, null, cancellationToken);

    private async Task<AmoToken?> RefreshAsync(string account, RefreshTrigger trigger, string? rejectedAccessToken, CancellationToken cancellationToken)
    {
        using var span = Observability.GatewayTracing.Tokens.StartActivity("amo.token.refresh");
        span?.SetTag("gateway.account", account);
        span?.SetTag("gateway.trigger", trigger.ToString());
        var (token, refreshed) = await RefreshUnderGateAsync(account, trigger, rejectedAccessToken, cancellationToken);
        span?.SetTag("gateway.refreshed", refreshed);
        span?.SetTag("gateway.token.outcome", token?.LastRefreshOutcome);

        // Outside the gate and the refresh's rate slot (a second slot under the first could wait forever at AMO_RATE_LIMIT=1).
        if (refreshed && token is { AmoAccountId: null })
        {
            token = await LearnAmoAccountIdAsync(token) ?? token;
        }

        return token;
    }

    // A pair imported from tokens.json (or stored before account ids were kept) learns its account id at its first
    // refresh, so a later consent can be held to it. Best effort: without an answer it is tried at the next refresh.
    private async Task<AmoToken?> LearnAmoAccountIdAsync(AmoToken token)
    {
        var check = await oauth.ReadAccountAsync(token.Account, token.BaseDomain, token.AccessToken, CancellationToken.None);
        if (check.Account is not { } identity)
        {
            LogAccountIdUnknown(token.Account, check.Description);
            return null;
        }

        await store.RecordAmoAccountIdAsync(token.Account, identity.Id, CancellationToken.None);
        LogAccountIdLearned(token.Account, identity.Subdomain, identity.Id);
        return await store.GetAsync(token.Account, CancellationToken.None);
    }

    private async Task<(AmoToken? Token, bool Refreshed)> RefreshUnderGateAsync(string account, RefreshTrigger trigger, string? rejectedAccessToken, CancellationToken cancellationToken)
    {
        var gate = GateFor(account);
        await gate.WaitAsync(cancellationToken);
        try
        {
            // Whoever held the gate has usually refreshed already: waiters leave here without writing a lease.
            var current = await store.GetAsync(account, cancellationToken);
            if (!WantsRefresh(current, trigger, rejectedAccessToken))
            {
                return (current, false);
            }

            await using var lease = await AcquireLeaseAsync(account, cancellationToken);

            // Re-read under the lease: another process may have rotated the pair meanwhile.
            current = await store.GetAsync(account, cancellationToken);
            if (!WantsRefresh(current, trigger, rejectedAccessToken))
            {
                return (current, false);
            }

            if (current.RefreshStartedAt is not null && trigger != RefreshTrigger.Admin)
            {
                // A process died or lost the answer mid-refresh: that refresh token may be spent, so it is not resent.
                var reason = "an earlier refresh was interrupted before its answer was saved; the refresh token may be spent. Re-authorize at /oauth/authorize (or run `tokens refresh --force` if you know it was not sent)";
                await store.RecordRefreshFailureAsync(account, current.Generation, "answer_lost", reason, null, CancellationToken.None);
                LogReauthorizationRequired(account, reason);
                return (await store.GetAsync(account, CancellationToken.None), false);
            }

            // The rate-limit slot comes first, so the started marker never sits through a long wait for it. Every call
            // needs the refreshed token, delivery first: it waits as a delivery does.
            await using var slot = await limiter.AcquireAsync(account, AmoCallClass.Delivery, cancellationToken);
            if (!await store.MarkRefreshStartedAsync(account, current.Generation, current.RefreshStartedAt, CancellationToken.None))
            {
                // Someone saved or started a refresh since the re-read (the lease may have run out during the wait): theirs stands.
                return (await store.GetAsync(account, CancellationToken.None), false);
            }

            LogRefreshing(account, trigger);

            // The call and the save are not cancelled with the caller: a half-done rotation is the one thing to avoid.
            var result = await oauth.RefreshAsync(account, current.BaseDomain, current.RefreshToken!, alreadyPaced: true, CancellationToken.None);
            metrics.TokenRefreshed(account, result.OutcomeName);
            switch (result.Outcome)
            {
                case TokenCallOutcome.Success:
                    var saved = await store.SaveAsync(account, result.Pair! with { BaseDomain = current.BaseDomain }, false, "ok", true, null, CancellationToken.None);
                    LogRefreshed(account, saved.ExpiresAt);
                    return (saved, true);

                case TokenCallOutcome.AnswerLost:
                {
                    var reason = $"a refresh request may have reached amoCRM but {result.Description}; the refresh token is presumably spent. Re-authorize at /oauth/authorize (or run `tokens refresh --force` if you know it was not)";
                    await store.RecordRefreshFailureAsync(account, current.Generation, result.OutcomeName, reason, null, CancellationToken.None);
                    LogReauthorizationRequired(account, reason);
                    break;
                }

                case TokenCallOutcome.HostRefused:
                {
                    var reason = $"the stored base domain is refused, the refresh token was {result.Description}; re-authorize at /oauth/authorize";
                    // Nothing left the process, but it would not next time either: back off like a refusal, logged once.
                    await store.RecordRefreshFailureAsync(account, current.Generation, result.OutcomeName, reason, time.GetUtcNow() + Backoff(current.FailedRefreshes), CancellationToken.None);
                    if (current.State != TokenStates.ReauthorizationRequired)
                    {
                        LogReauthorizationRequired(account, reason);
                    }

                    break;
                }

                case TokenCallOutcome.Rejected:
                {
                    var reason = $"amoCRM refused the refresh ({result.HttpStatus}: {result.Description}); re-authorize at /oauth/authorize";
                    var next = time.GetUtcNow() + Backoff(current.FailedRefreshes);
                    await store.RecordRefreshFailureAsync(account, current.Generation, result.OutcomeName, reason, next, CancellationToken.None);
                    if (current.State != TokenStates.ReauthorizationRequired)
                    {
                        LogReauthorizationRequired(account, reason);
                    }

                    break;
                }

                default:
                {
                    var next = time.GetUtcNow() + Backoff(current.FailedRefreshes);
                    await store.RecordRefreshFailureAsync(account, current.Generation, result.OutcomeName, null, next, CancellationToken.None);
                    LogRefreshDeferred(account, result.Description, next);
                    break;
                }
            }

            return (await store.GetAsync(account, CancellationToken.None), false);
        }
        finally
        {
            gate.Release();
        }
    }

    private SemaphoreSlim GateFor(string account) => gates.GetOrAdd(account, _ => new SemaphoreSlim(1, 1));

    // Generously longer than the call it guards: a lease that runs out mid-refresh lets a second process resend the token.
    private Task<IAsyncDisposable> AcquireLeaseAsync(string account, CancellationToken cancellationToken)
    {
        var length = options.Value.RequestTimeout * 2 + TimeSpan.FromSeconds(60);
        return leases.AcquireAsync($"token-refresh:{account}", length, length, cancellationToken);
    }

    private bool WantsRefresh([NotNullWhen(true)] AmoToken? token, RefreshTrigger trigger, string? rejectedAccessToken) =>
        token is { RefreshToken: not null }
        && NeedsRefresh(token, trigger, rejectedAccessToken)
        && (trigger == RefreshTrigger.Admin || CanRefresh(token));

    private bool NeedsRefresh(AmoToken token, RefreshTrigger trigger, string? rejectedAccessToken)
    {
        if (token.LongLived || token.RefreshToken is null)
        {
            return false;
        }

        var now = time.GetUtcNow();
        return trigger switch
        {
            RefreshTrigger.Expiring => token.ExpiresAt - options.Value.RefreshMargin <= now,
            RefreshTrigger.Rejected => token.AccessToken == rejectedAccessToken,
            // Age only: a keep-alive run that read a due token and got the gate late must not rotate a young pair
            // just because its access token has meanwhile come near expiry (requests refresh those on demand).
            RefreshTrigger.KeepAlive => token.RefreshTokenIssuedAt + options.Value.KeepAliveAge <= now,
            RefreshTrigger.Due => token.RefreshTokenIssuedAt + options.Value.KeepAliveAge <= now || token.ExpiresAt - options.Value.RefreshMargin <= now,
            _ => true,
        };
    }

    // Backoff after failures; a spent or uncertain token waits for a human.
    private bool CanRefresh(AmoToken token)
    {
        if (token.LastRefreshOutcome == "answer_lost" && token.State == TokenStates.ReauthorizationRequired)
        {
            return false;
        }

        return token.NextRefreshAttemptAt is not { } next || next <= time.GetUtcNow();
    }

    internal static TimeSpan Backoff(int failures)
    {
        var seconds = MinBackoff.TotalSeconds * Math.Pow(2, Math.Min(failures, 16));
        return TimeSpan.FromSeconds(Math.Min(seconds, MaxBackoff.TotalSeconds));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The amoCRM token of {Account} belongs to account {Subdomain} (id {AmoAccountId}); a later consent must be for the same account")]
    private partial void LogAccountIdLearned(string account, string subdomain, long amoAccountId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read which amoCRM account the token of {Account} belongs to ({Problem}); trying again at the next refresh")]
    private partial void LogAccountIdUnknown(string account, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refreshing the amoCRM token of {Account} ({Trigger})")]
    private partial void LogRefreshing(string account, RefreshTrigger trigger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refreshed the amoCRM token of {Account}; the access token expires at {ExpiresAt:O}")]
    private partial void LogRefreshed(string account, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the amoCRM token of {Account}: {Problem}; next attempt at {NextAttempt:O}")]
    private partial void LogRefreshDeferred(string account, string problem, DateTimeOffset nextAttempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "amoCRM account {Account} needs re-authorization: {Reason}. Leads are still accepted; open /oauth/authorize in a browser to restore access")]
    private partial void LogReauthorizationRequired(string account, string reason);
}
