using Microsoft.Extensions.Options;

namespace Gateway.Amo.Tokens;

// Refresh tokens die after 3 idle months: rotate every account's pair once it is KeepAliveAge old, traffic or not.
internal sealed partial class TokenKeepAlive(
    TokenStore store,
    AmoTokenManager tokens,
    Accounts.AccountRegistry registry,
    IOptions<AmoOptions> options,
    TimeProvider time,
    ILogger<TokenKeepAlive> logger) : BackgroundService
{
    public DateTimeOffset? NextRunAt { get; private set; }

    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        using var span = Observability.GatewayTracing.Tokens.StartActivity("amo.token.keepalive");
        var refreshed = 0;
        var now = time.GetUtcNow();
        foreach (var token in await store.ListAsync(cancellationToken))
        {
            // An account taken out of the accounts file is left alone: its token is as it was if it comes back.
            if (registry.Find(token.Account) is null || token.LongLived || token.RefreshToken is null || token.RefreshTokenIssuedAt + options.Value.KeepAliveAge > now)
            {
                continue;
            }

            var result = await tokens.RefreshAsync(token.Account, RefreshTrigger.KeepAlive, cancellationToken);
            if (result is not null && result.Generation != token.Generation)
            {
                refreshed++;
            }
        }

        span?.SetTag("gateway.refreshed", refreshed);
        return refreshed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRunFailed(ex);
            }

            // Jitter spreads instances and accounts so they do not all knock at once.
            var interval = options.Value.KeepAliveInterval * (0.8 + Random.Shared.NextDouble() * 0.4);
            NextRunAt = time.GetUtcNow() + interval;
            await Task.Delay(interval, time, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Token keep-alive run failed")]
    private partial void LogRunFailed(Exception exception);
}
