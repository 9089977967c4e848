using System.Collections.Concurrent;
using System.Data.Common;
using Gateway.Data;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Pacing;

// The cluster half of the limiter: an account's N calls per second are N slot rows in the shared database, so every
// instance (and every process on one SQLite file) draws from one budget. A slot is held from before the send until one
// window after the answer, timed by the database's clock: one clock for all instances, however theirs drift.
// A holder that dies mid-call leaves its slot busy only until the call's timeout plus a window has passed.
internal sealed partial class AmoRateBudget(
    Database database,
    IOptions<AmoOptions> options,
    [FromKeyedServices(PacingClock.Key)] TimeProvider clock,
    ILogger<AmoRateBudget> logger)
{
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(1020);

    private static readonly TimeSpan MinPoll = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan MaxPoll = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, int> seeded = new(StringComparer.Ordinal);
    private readonly string holderPrefix = $"{Environment.MachineName}:{Environment.ProcessId}:";

    public async Task<ClusterSlot> AcquireAsync(string account, CancellationToken cancellationToken)
    {
        var limit = options.Value.RateLimitPerSecond;
        var holder = holderPrefix + Guid.NewGuid().ToString("N");
        var hold = (long)(options.Value.RequestTimeout + Window + TimeSpan.FromSeconds(5)).TotalMilliseconds;
        var now = database.NowMilliseconds;
        for (var attempt = 0; ; attempt++)
        {
            long? wait;
            await using (var connection = await OpenAsync(cancellationToken))
            {
                await SeedAsync(connection, account, limit, cancellationToken);
                var slot = await Sql.ScalarInt64Async(
                    connection,
                    $"""
                    UPDATE amo_rate_slots SET holder = @holder, busy_until = {now} + @hold
                    WHERE account = @account AND slot = (
                        SELECT slot FROM amo_rate_slots WHERE account = @account AND slot < @limit AND busy_until <= {now}
                        ORDER BY busy_until, slot LIMIT 1{database.SkipLocked})
                    RETURNING slot
                    """,
                    null,
                    [("holder", holder), ("hold", hold), ("account", account), ("limit", limit)],
                    cancellationToken);
                if (slot is not null)
                {
                    return new ClusterSlot(this, account, slot.Value, holder, Waited: attempt > 0);
                }

                wait = await Sql.ScalarInt64Async(
                    connection,
                    $"SELECT MIN(busy_until) - {now} FROM amo_rate_slots WHERE account = @account AND slot < @limit",
                    null,
                    [("account", account), ("limit", limit)],
                    cancellationToken);
            }

            if (wait is null)
            {
                // The slot rows are gone (a restore, a truncate): seed them again rather than wait for nothing.
                seeded.TryRemove(account, out _);
            }

            // Pacing is wall-clock by nature (amoCRM counts real seconds), like the in-process half.
            var delay = TimeSpan.FromMilliseconds(wait ?? MaxPoll.TotalMilliseconds);
            await Task.Delay(delay < MinPoll ? MinPoll : delay > MaxPoll ? MaxPoll : delay, clock, cancellationToken);
        }
    }

    private async Task ReleaseAsync(string account, long slot, string holder)
    {
        try
        {
            await using var connection = await OpenAsync(CancellationToken.None);
            await Sql.ExecuteAsync(
                connection,
                $"UPDATE amo_rate_slots SET holder = NULL, busy_until = {database.NowMilliseconds} + @window WHERE account = @account AND slot = @slot AND holder = @holder",
                null,
                [("window", (long)Window.TotalMilliseconds), ("account", account), ("slot", slot), ("holder", holder)],
                CancellationToken.None);
        }
        catch (DbException)
        {
            // The slot stays busy until its hold runs out: slower for a moment, never over the limit.
        }
    }

    // Slot rows are soft state: on SQLite they skip the fsync every other write pays for.
    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await database.OpenAsync(cancellationToken);
        if (!database.IsPostgres)
        {
            await Sql.ExecuteAsync(connection, "PRAGMA synchronous = NORMAL", cancellationToken);
        }

        return connection;
    }

    private async Task SeedAsync(DbConnection connection, string account, int limit, CancellationToken cancellationToken)
    {
        if (seeded.TryGetValue(account, out var done) && done >= limit)
        {
            return;
        }

        await Sql.ExecuteEachAsync(
            connection,
            "INSERT INTO amo_rate_slots (account, slot, holder, busy_until) VALUES (@account, @slot, NULL, 0) ON CONFLICT DO NOTHING",
            null,
            Enumerable.Range(0, limit),
            slot => [("account", account), ("slot", slot)],
            cancellationToken);
        seeded[account] = limit;

        // Slots above this instance's limit (it was lowered, or another instance says more) are removed once free: the
        // budget is the rows that exist, so the cluster keeps to the smallest limit started last. Say so: it is a misconfiguration.
        var removed = await Sql.ExecuteAsync(
            connection,
            $"DELETE FROM amo_rate_slots WHERE account = @account AND slot >= @limit AND busy_until <= {database.NowMilliseconds}",
            null,
            [("account", account), ("limit", limit)],
            cancellationToken);
        if (removed > 0)
        {
            LogLimitsDisagree(account, limit, removed);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "AMO_RATE_LIMIT for {Account} is {Limit} here but {Removed} more slots existed (lowered, or another instance has a larger value); the extra slots were removed. Set the same value on every instance")]
    private partial void LogLimitsDisagree(string account, int limit, int removed);

    public sealed record ClusterSlot(AmoRateBudget Budget, string Account, long Slot, string Holder, bool Waited) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Budget.ReleaseAsync(Account, Slot, Holder);
    }
}
