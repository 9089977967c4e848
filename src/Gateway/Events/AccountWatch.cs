using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Operations;
using Microsoft.Extensions.Options;

namespace Gateway.Events;

// What nobody would hear about unless someone opened a page: an account that cannot deliver until an admin consents
// again, and a queue that has not moved for EVENTS_QUEUE_STUCK_SECONDS. Looked at once a minute; the event ids are
// per day (consent) and per hour (stuck queue), so every instance of a cluster and every restart tells it once.
// It also prunes the events outbox once an hour.
internal sealed partial class AccountWatch(GatewayStatus status, IGatewayEvents events, EventStore store, IOptions<EventsOptions> options, TimeProvider time, ILogger<AccountWatch> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);
    private DateTimeOffset prunedAt;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, time, stoppingToken);
                await LookAsync(stoppingToken);
                if (time.GetUtcNow() - prunedAt >= TimeSpan.FromHours(1))
                {
                    prunedAt = time.GetUtcNow();
                    await store.PruneAsync(options.Value.Retention, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                LogLookFailed(ex.GetType().Name);
            }
        }
    }

    private async Task LookAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var account in await status.AccountsAsync(cancellationToken))
        {
            if (!account.CanDeliver)
            {
                var day = now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                await events.PublishAsync(new GatewayEvent(GatewayEvent.IdFor(account.Account, EventTypes.AccountConsentNeeded, day), account.Account, EventTypes.AccountConsentNeeded, now, new JsonObject
                {
                    ["token_state"] = account.TokenState,
                    ["consent_path"] = "/oauth/authorize?account=" + Uri.EscapeDataString(account.Account),
                    ["queued"] = account.Queue.Queued,
                }), cancellationToken);
            }

            if (account.OldestQueuedAgeSeconds is { } age && age >= options.Value.QueueStuckAfter.TotalSeconds)
            {
                var hour = now.ToString("yyyy-MM-ddTHH", CultureInfo.InvariantCulture);
                await events.PublishAsync(new GatewayEvent(GatewayEvent.IdFor(account.Account, EventTypes.QueueStuck, hour), account.Account, EventTypes.QueueStuck, now, new JsonObject
                {
                    ["minutes"] = age / 60,
                    ["queued"] = account.Queue.Queued,
                    ["can_deliver"] = account.CanDeliver,
                }), cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The account watch could not look at the accounts ({Error}); trying again in a minute")]
    private partial void LogLookFailed(string error);
}
