using System.Data.Common;
using System.Text.Json.Nodes;
using Gateway.Data;
using Gateway.Security;

namespace Gateway.Events;

internal static class DeliveryKinds
{
    public const string Callback = "callback";
    public const string Http = "http";
    public const string Telegram = "telegram";
}

internal static class DeliveryStatus
{
    public const string Queued = "queued";
    public const string Delivered = "delivered";
    public const string Dead = "dead";
}

// One event's way to one destination: a callback URL of a key, an HTTP subscriber, a Telegram chat.
internal sealed record NewDelivery(string Kind, string Destination, string Target);

internal sealed record ClaimedDelivery
{
    public long Id { get; init; }
    public string EventId { get; init; } = "";
    public string Account { get; init; } = "";
    public string Kind { get; init; } = "";
    public string Destination { get; init; } = "";
    public string Target { get; init; } = "";
    public long Attempts { get; init; }
    public DateTimeOffset GiveUpAt { get; init; }
    public string ClaimToken { get; init; } = "";
    public string Type { get; init; } = "";
    public string Body { get; init; } = "";

    public static ClaimedDelivery Read(DbDataReader reader) => new()
    {
        Id = reader.Int64("id"),
        EventId = reader.String("event_id"),
        Account = reader.String("account"),
        Kind = reader.String("kind"),
        Destination = reader.String("destination"),
        Target = reader.String("target"),
        Attempts = reader.Int64("attempts"),
        GiveUpAt = reader.Time("give_up_at"),
        ClaimToken = reader.String("claim_token"),
        Type = reader.String("type"),
        Body = reader.String("body"),
    };
}

internal sealed record DeliveryRow
{
    public long Id { get; init; }
    public string EventId { get; init; } = "";
    public string Account { get; init; } = "";
    public string Type { get; init; } = "";
    public string Kind { get; init; } = "";
    public string Destination { get; init; } = "";
    public string Status { get; init; } = "";
    public long Attempts { get; init; }
    public DateTimeOffset NextAttemptAt { get; init; }
    public string? LastError { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? DeliveredAt { get; init; }

    public static DeliveryRow Read(DbDataReader reader) => new()
    {
        Id = reader.Int64("id"),
        EventId = reader.String("event_id"),
        Account = reader.String("account"),
        Type = reader.String("type"),
        Kind = reader.String("kind"),
        Destination = reader.String("destination"),
        Status = reader.String("status"),
        Attempts = reader.Int64("attempts"),
        NextAttemptAt = reader.Time("next_attempt_at"),
        LastError = reader.StringOrNull("last_error"),
        CreatedAt = reader.Time("created_at"),
        DeliveredAt = reader.TimeOrNull("delivered_at"),
    };

    // The destination's name, never its URL's query or a chat's messages: what an admin needs to decide on a replay.
    public JsonObject Describe() => new()
    {
        ["id"] = Id,
        ["event_id"] = EventId,
        ["account"] = Account,
        ["type"] = Type,
        ["kind"] = Kind,
        ["destination"] = Destination,
        ["status"] = Status,
        ["attempts"] = Attempts,
        ["next_attempt_at"] = Status == DeliveryStatus.Queued ? NextAttemptAt : null,
        ["last_error"] = LastError,
        ["created_at"] = CreatedAt,
        ["delivered_at"] = DeliveredAt,
    };
}

// The events outbox: events (sealed: amoCRM's payloads and lead outcomes carry names and phones) and their deliveries,
// claimed with a lease like the lead outbox, so a killed process's claims come back.
internal sealed class EventStore(Database database, PersonalData personalData, TimeProvider time)
{
    private const string ClaimedColumns = "d.id, d.event_id, d.account, d.kind, d.destination, d.target, d.attempts, d.give_up_at, d.claim_token, e.type, e.body";
    private const string RowColumns = "d.id, d.event_id, d.account, e.type, d.kind, d.destination, d.status, d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.delivered_at";

    // False when the event was stored before (its id is its de-duplication key): its deliveries exist already.
    public async Task<bool> AddAsync(GatewayEvent e, IReadOnlyList<NewDelivery> deliveries, TimeSpan maxAge, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var added = await Sql.ExecuteAsync(
            connection,
            "INSERT INTO events (id, account, type, body, occurred_at, created_at) VALUES (@id, @account, @type, @body, @occurred, @now) ON CONFLICT (id) DO NOTHING",
            transaction,
            [("id", e.Id), ("account", e.Account), ("type", e.Type), ("body", personalData.Seal(e.Envelope().ToJsonString())), ("occurred", e.OccurredAt), ("now", now)],
            cancellationToken);
        if (added == 1 && deliveries.Count > 0)
        {
            await Sql.ExecuteEachAsync(
                connection,
                """
                INSERT INTO event_deliveries (event_id, account, kind, destination, target, status, attempts, next_attempt_at, give_up_at, created_at)
                VALUES (@event, @account, @kind, @destination, @target, @queued, 0, @now, @giveUp, @now)
                ON CONFLICT (event_id, kind, destination) DO NOTHING
                """,
                transaction,
                deliveries,
                d => [("event", e.Id), ("account", e.Account), ("kind", d.Kind), ("destination", d.Destination), ("target", d.Target), ("queued", DeliveryStatus.Queued), ("now", now), ("giveUp", now + maxAge)],
                cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return added == 1;
    }

    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(int limit, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var token = Guid.NewGuid().ToString("N");
        await using var connection = await database.OpenAsync(cancellationToken);
        var skipLocked = database.IsPostgres ? " FOR UPDATE SKIP LOCKED" : "";
        await Sql.ExecuteAsync(
            connection,
            $"""
            UPDATE event_deliveries SET lease_until = @lease, claim_token = @token
            WHERE id IN (SELECT id FROM event_deliveries
                         WHERE status = @queued AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
                         ORDER BY next_attempt_at, id LIMIT @limit{skipLocked})
            """,
            null,
            [("lease", now + lease), ("token", token), ("queued", DeliveryStatus.Queued), ("now", now), ("limit", limit)],
            cancellationToken);
        var claimed = await Sql.QueryAsync(
            connection,
            $"SELECT {ClaimedColumns} FROM event_deliveries d JOIN events e ON e.id = d.event_id WHERE d.claim_token = @token ORDER BY d.id",
            null,
            [("token", token)],
            ClaimedDelivery.Read,
            cancellationToken);
        return claimed.Select(c => personalData.TryOpen(c.Body, out var body, out _) ? c with { Body = body! } : c with { Body = "" }).ToList();
    }

    public Task DeliveredAsync(ClaimedDelivery d, CancellationToken cancellationToken) =>
        SettleAsync(d, "status = @status, attempts = attempts + 1, delivered_at = @now, last_error = NULL", DeliveryStatus.Delivered, null, null, cancellationToken);

    public Task RetryAsync(ClaimedDelivery d, DateTimeOffset next, string error, bool countAttempt, CancellationToken cancellationToken) =>
        SettleAsync(d, $"status = @status, next_attempt_at = @next, last_error = @error{(countAttempt ? ", attempts = attempts + 1" : "")}", DeliveryStatus.Queued, next, error, cancellationToken);

    public Task DeadAsync(ClaimedDelivery d, string error, CancellationToken cancellationToken) =>
        SettleAsync(d, "status = @status, attempts = attempts + 1, last_error = @error", DeliveryStatus.Dead, null, error, cancellationToken);

    private async Task SettleAsync(ClaimedDelivery d, string set, string status, DateTimeOffset? next, string? error, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            $"UPDATE event_deliveries SET {set}, lease_until = NULL, claim_token = NULL WHERE id = @id AND claim_token = @token",
            null,
            [("status", status), ("now", time.GetUtcNow()), ("next", next), ("error", error), ("id", d.Id), ("token", d.ClaimToken)],
            cancellationToken);
    }

    public async Task<IReadOnlyList<DeliveryRow>> ListAsync(string? account, string? status, string? eventId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(
            connection,
            $"""
            SELECT {RowColumns} FROM event_deliveries d JOIN events e ON e.id = d.event_id
            WHERE (@account IS NULL OR d.account = @account) AND (@status IS NULL OR d.status = @status) AND (@event IS NULL OR d.event_id = @event)
            ORDER BY d.id DESC LIMIT @limit
            """,
            null,
            [("account", account), ("status", status), ("event", eventId), ("limit", limit)],
            DeliveryRow.Read,
            cancellationToken);
    }

    public async Task<DeliveryRow?> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QuerySingleOrDefaultAsync(connection, $"SELECT {RowColumns} FROM event_deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = @id", null, [("id", id)], DeliveryRow.Read, cancellationToken);
    }

    // A replay starts the delivery over: due now, three fresh days, its attempts from zero.
    public async Task<bool> ReplayAsync(long id, TimeSpan maxAge, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.ExecuteAsync(
            connection,
            "UPDATE event_deliveries SET status = @queued, attempts = 0, next_attempt_at = @now, give_up_at = @giveUp, lease_until = NULL, claim_token = NULL WHERE id = @id",
            null,
            [("queued", DeliveryStatus.Queued), ("now", now), ("giveUp", now + maxAge), ("id", id)],
            cancellationToken) == 1;
    }

    // Delivered deliveries older than the retention go, then events nothing refers to any more; dead letters stay.
    public async Task<int> PruneAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - retention;
        await using var connection = await database.OpenAsync(cancellationToken);
        var deliveries = await Sql.ExecuteAsync(connection, "DELETE FROM event_deliveries WHERE status = @delivered AND delivered_at < @cutoff", null, [("delivered", DeliveryStatus.Delivered), ("cutoff", cutoff)], cancellationToken);
        await Sql.ExecuteAsync(connection, "DELETE FROM events WHERE created_at < @cutoff AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = events.id)", null, [("cutoff", cutoff)], cancellationToken);
        return deliveries;
    }

    public async Task<long> CountAsync(string status, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.ScalarInt64Async(connection, "SELECT COUNT(*) FROM event_deliveries WHERE status = @status", null, [("status", status)], cancellationToken) ?? 0;
    }
}
