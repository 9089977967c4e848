using System.Security.Cryptography;
using System.Text;
using Gateway.Data;

namespace Gateway.Outbox;

// With several instances on PostgreSQL the worker that settles a lead may run on another instance than the request
// waiting for it. Settled leads nobody waits for locally are announced with NOTIFY; every instance listens and wakes its
// own waiters, who then read the outcome from the row (committed before the announcement). A lost announcement only
// means that caller's wait runs out and it reads the row then.
internal sealed partial class ClusterOutcomeRelay(Database database, LeadOutcomes outcomes, TimeProvider time, ILogger<ClusterOutcomeRelay> logger) : BackgroundService
{
    // NOTIFY payloads are capped at 8000 bytes: 200 source uids of 32 characters and a comma fit well inside.
    private const int UidsPerNotification = 200;
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(5);

    private readonly TaskCompletionSource<string> channelName = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Completes once this instance hears announcements (never on SQLite).
    public Task Listening => channelName.Task;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.IsPostgres)
        {
            // One SQLite file is one host's affair: instances sharing it fall back on the wait's end.
            return Task.CompletedTask;
        }

        var settled = outcomes.StartAnnouncing();
        return Task.WhenAll(ListenAsync(stoppingToken), AnnounceAsync(settled, stoppingToken));
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (attempt > 0)
                {
                    await Task.Delay(Reconnect, time, stoppingToken);
                }

                await using var connection = await database.OpenListenerAsync(stoppingToken);
                // Instances share a channel only when they share a schema (the tests run many schemas in one database).
                var schema = await Sql.ScalarAsync(connection, "SELECT current_schema()", null, [], stoppingToken) as string ?? "public";
                var channel = "gateway_settled_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schema)))[..16];
                connection.Notification += (_, e) => outcomes.WakeSettledElsewhere(e.Payload.Split(','));
                await Sql.ExecuteAsync(connection, "LISTEN " + channel, stoppingToken);
                channelName.TrySetResult(channel);
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Whatever broke the connection, waking callers early is not worth stopping the gateway for.
                LogListenFailed(ex, Reconnect);
            }
        }
    }

    private async Task AnnounceAsync(System.Threading.Channels.ChannelReader<string> settled, CancellationToken stoppingToken)
    {
        try
        {
            var channel = await channelName.Task.WaitAsync(stoppingToken);
            var uids = new List<string>(UidsPerNotification);
            while (await settled.WaitToReadAsync(stoppingToken))
            {
                uids.Clear();
                while (uids.Count < UidsPerNotification && settled.TryRead(out var uid))
                {
                    uids.Add(uid);
                }

                try
                {
                    await using var connection = await database.OpenAsync(stoppingToken);
                    await Sql.ExecuteAsync(connection, "SELECT pg_notify(@channel, @payload)", null, [("channel", channel), ("payload", string.Join(',', uids))], stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogAnnounceFailed(ex, uids.Count);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for leads settled by other instances failed; retrying in {Delay}")]
    private partial void LogListenFailed(Exception exception, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell other instances that {Count} leads were settled; their callers read the outcome when their wait ends")]
    private partial void LogAnnounceFailed(Exception exception, int count);
}
