using System.Diagnostics.Metrics;
using Gateway.Observability;

namespace Gateway.Operations;

// The gauges read from the database (the queue, the oldest lead's age, each account's token): observable instruments
// of the Gateway meter whose callbacks read the last snapshot, taken just before each scrape (and, with OTLP metrics
// export, every export interval), because a database read is asynchronous and an instrument's callback is not.
internal sealed class StateGauges
{
    private volatile Snapshot current = new(false, []);

    public StateGauges(GatewayMetrics metrics, GatewayStatus status)
    {
        Status = status;
        var meter = metrics.Meter;
        meter.CreateObservableGauge("gateway.database.up", () => new Measurement<int>(current.DatabaseUp ? 1 : 0), null, "1 when the database answers");
        meter.CreateObservableGauge("gateway.outbox.leads", () => current.Accounts.SelectMany(a => new[]
        {
            new Measurement<long>(a.Queue.Queued, Account(a), new("status", "queued")),
            new Measurement<long>(a.Queue.Delivering, Account(a), new("status", "delivering")),
            new Measurement<long>(a.Queue.Failed, Account(a), new("status", "failed")),
        }), "{lead}", "Leads in the outbox by status (delivered ones are not counted)");
        meter.CreateObservableGauge("gateway.outbox.notes_pending", () => current.Accounts.Select(a => new Measurement<long>(a.Queue.NotesPending, Account(a))), "{note}", "Notes waiting to be added to delivered leads");
        meter.CreateObservableGauge("gateway.outbox.oldest_queued_age", () => current.Accounts.Select(a => new Measurement<long>(a.OldestQueuedAgeSeconds ?? 0, Account(a))), "s", "Age of the oldest lead not yet delivered (0 when none)");
        meter.CreateObservableGauge("gateway.token.can_deliver", () => current.Accounts.Select(a => new Measurement<int>(a.CanDeliver ? 1 : 0, Account(a))), null, "1 when the account's amoCRM token is usable or refreshable");
        meter.CreateObservableGauge("gateway.token.state", () => current.Accounts.Select(a => new Measurement<int>(1, Account(a), new("state", a.TokenState))), null, "The account's token state (1 for the current one)");
    }

    public GatewayStatus Status { get; }

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var reachable = await Status.DatabaseReachableAsync(cancellationToken);
        current = new Snapshot(reachable, reachable ? await Status.AccountsAsync(cancellationToken) : []);
    }

    private static KeyValuePair<string, object?> Account(AccountStatus status) => new("account", status.Account);

    private sealed record Snapshot(bool DatabaseUp, IReadOnlyList<AccountStatus> Accounts);
}

// With OTLP metrics export and no scraper, the snapshot still follows the database.
internal sealed partial class StateGaugeRefresher(StateGauges gauges, OtlpExport export, TimeProvider time, ILogger<StateGaugeRefresher> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (export.Metrics && !stoppingToken.IsCancellationRequested)
        {
            try
            {
                await gauges.RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRefreshFailed(ex);
            }

            await Task.Delay(Interval, time, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the outbox for the exported gauges")]
    private partial void LogRefreshFailed(Exception exception);
}
