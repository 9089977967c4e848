using System.Collections.Concurrent;
using System.Data.Common;
using Gateway.Accounts;
using Gateway.Data;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Pacing;

// The cluster half of the limiter: an account's N calls per second are N slot rows in the shared database, so every
// instance (and every process on one SQLite file) draws from one budget. A slot is held from before the send until one
// window after the answer, timed by the database's clock: one clock for all instances, however theirs drift.
// A holder that dies mid-call leaves its slot busy only until the call's timeout plus a window has passed.
// Delivery's priority holds across instances too: a slot row keeps its last holder's class ("d:"/"l:") while it cools,
// and while this instance holds lookups back, or another instance's delivery used a slot within the window, lookups
// may take only the first slots (the lookup share); deliveries take those last, and lookups poll a little behind.
internal sealed partial class AmoRateBudget(
    Database database,
    IOptions<AmoOptions> options,
    AccountRegistry registry,
    [FromKeyedServices(PacingClock.Key)] TimeProvider clock,
    ILogger<AmoRateBudget> logger)
{
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(1020);

    private static readonly TimeSpan MinPoll = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan MaxPoll = TimeSpan.FromMilliseconds(100);

    // A waiting delivery anywhere in the cluster sees a freed slot before the lookups that wait for it.
    private static readonly TimeSpan LookupLag = TimeSpan.FromMilliseconds(20);

    private readonly ConcurrentDictionary<string, int> seeded = new(StringComparer.Ordinal);
    // Unique per instance, even for two gateways hosted in one process: the rows tell this one's deliveries from others'.
    private readonly string instance = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}:";

    // Each account keeps to its own rate_limit; an account no longer configured sends nothing, so any bound will do.
    public static int RateLimitOf(AccountRegistry registry, string account) =>
        registry.Find(account)?.RateLimitPerSecond ?? registry.Default.RateLimitPerSecond;

    public async Task<ClusterSlot> AcquireAsync(string account, AmoPriority priority, Func<bool> holdsLookupsBack, CancellationToken cancellationToken)
    {
        var limit = RateLimitOf(registry, account);
        var share = AmoRateLimiter.LookupShare(limit);
        var call = instance + Guid.NewGuid().ToString("N");
        var hold = (long)(options.Value.RequestTimeout + Window + TimeSpan.FromSeconds(5)).TotalMilliseconds;
        var now = database.NowMilliseconds;

        // This instance's own deliveries already hold its lookups back in the in-process half; the rows say the others'.
        var ownDeliveries = Holder(true, instance);
        for (var attempt = 0; ; attempt++)
        {
            // Read at each attempt: a waiting lookup may have risen to delivery, or the queue emptied meanwhile.
            var delivery = priority.IsDelivery;
            var holder = Holder(delivery, call);
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
                        {(delivery ? "" : $"""
                        AND (slot < @share OR (@heldBack = 0 AND NOT EXISTS (
                            SELECT 1 FROM amo_rate_slots d WHERE d.account = @account AND d.busy_until > {now}
                            AND substr(d.holder, 1, 2) = 'd:' AND substr(d.holder, 1, @mineLength) <> @mine)))
                        """)}
                        ORDER BY {(delivery ? "CASE WHEN slot < @share THEN 1 ELSE 0 END, " : "")}busy_until, slot LIMIT 1{database.SkipLocked})
                    RETURNING slot
                    """,
                    null,
                    delivery
                        ? [("holder", holder), ("hold", hold), ("account", account), ("limit", limit), ("share", share)]
                        : [
                            ("holder", holder), ("hold", hold), ("account", account), ("limit", limit), ("share", share),
                            ("heldBack", holdsLookupsBack() ? 1 : 0), ("mine", ownDeliveries), ("mineLength", ownDeliveries.Length),
                        ],
                    cancellationToken);
                if (slot is not null)
                {
                    return new ClusterSlot(this, account, slot.Value, holder, Holder(delivery, instance), Waited: attempt > 0);
                }

                // A lookup that found no slot may be held to the shared ones: waiting for any other would be polling.
                wait = await Sql.ScalarInt64Async(
                    connection,
                    $"SELECT MIN(busy_until) - {now} FROM amo_rate_slots WHERE account = @account AND slot < @limit",
                    null,
                    [("account", account), ("limit", delivery ? limit : share)],
                    cancellationToken);
            }

            if (wait is null)
            {
                // The slot rows are gone (a restore, a truncate): seed them again rather than wait for nothing.
                seeded.TryRemove(account, out _);
            }

            // Pacing is wall-clock by nature (amoCRM counts real seconds), like the in-process half.
            var delay = TimeSpan.FromMilliseconds(wait ?? MaxPoll.TotalMilliseconds);
            delay = delay < MinPoll ? MinPoll : delay > MaxPoll ? MaxPoll : delay;
            await Task.Delay(delivery ? delay : delay + LookupLag, clock, cancellationToken);
        }
    }

    private static string Holder(bool delivery, string who) => (delivery ? "d:" : "l:") + who;

    // The released row keeps the class and instance of its last call (not the call itself) while it cools.
    private async Task ReleaseAsync(string account, long slot, string holder, string released)
    {
        try
        {
            await using var connection = await OpenAsync(CancellationToken.None);
            await Sql.ExecuteAsync(
                connection,
                $"UPDATE amo_rate_slots SET holder = @released, busy_until = {database.NowMilliseconds} + @window WHERE account = @account AND slot = @slot AND holder = @holder",
                null,
                [("released", released), ("window", (long)Window.TotalMilliseconds), ("account", account), ("slot", slot), ("holder", holder)],
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

    public sealed record ClusterSlot(AmoRateBudget Budget, string Account, long Slot, string Holder, string Released, bool Waited) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Budget.ReleaseAsync(Account, Slot, Holder, Released);
    }
}
