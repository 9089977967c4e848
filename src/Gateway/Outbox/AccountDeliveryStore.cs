using System.Data.Common;
using Gateway.Data;

namespace Gateway.Outbox;

internal sealed record AccountDelivery
{
    public string Account { get; init; } = "";
    public DateTimeOffset? PausedUntil { get; init; }
    public string? PauseReason { get; init; }
    public long ConsecutiveFailures { get; init; }
    public long? BatchSize { get; init; }

    public static AccountDelivery Read(DbDataReader reader) => new()
    {
        Account = reader.String("account"),
        PausedUntil = reader.TimeOrNull("paused_until"),
        PauseReason = reader.StringOrNull("pause_reason"),
        ConsecutiveFailures = reader.Int64("consecutive_failures"),
        BatchSize = reader.Int64OrNull("batch_size"),
    };
}

// The account_delivery table: one row per account that amoCRM has paused or slowed; the rules live in AccountDeliveryState.
internal sealed class AccountDeliveryStore(Database database, TimeProvider time)
{
    public async Task<AccountDelivery> GetAsync(string account, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QuerySingleOrDefaultAsync(
            connection,
            "SELECT account, paused_until, pause_reason, consecutive_failures, batch_size FROM account_delivery WHERE account = @account",
            null,
            [("account", account)],
            AccountDelivery.Read,
            cancellationToken) ?? new AccountDelivery { Account = account };
    }

    public async Task SaveAsync(AccountDelivery state, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            """
            INSERT INTO account_delivery (account, paused_until, pause_reason, consecutive_failures, batch_size, changed_at)
            VALUES (@Account, @PausedUntil, @PauseReason, @ConsecutiveFailures, @BatchSize, @now)
            ON CONFLICT (account) DO UPDATE SET paused_until = excluded.paused_until, pause_reason = excluded.pause_reason,
                consecutive_failures = excluded.consecutive_failures, batch_size = excluded.batch_size, changed_at = excluded.changed_at
            """,
            null,
            [
                ("Account", state.Account), ("PausedUntil", state.PausedUntil), ("PauseReason", state.PauseReason), ("ConsecutiveFailures", state.ConsecutiveFailures),
                ("BatchSize", state.BatchSize), ("now", time.GetUtcNow()),
            ],
            cancellationToken);
    }

    // A success only clears what was known when its batch started: a sibling's fresh pause or halving stands.
    // True when it ended a run of failures.
    public async Task<bool> RecordSuccessAsync(string account, DateTimeOffset batchStartedAt, int maxBatch, bool growBatch, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenWriterAsync(cancellationToken);
        var failing = await Sql.ScalarInt64Async(
            connection,
            "SELECT consecutive_failures FROM account_delivery WHERE account = @account AND (changed_at IS NULL OR changed_at <= @started)",
            null,
            [("account", account), ("started", batchStartedAt)],
            cancellationToken);
        if (failing is null)
        {
            return false;
        }

        var cleared = await Sql.ExecuteAsync(
            connection,
            """
            UPDATE account_delivery SET paused_until = NULL, pause_reason = NULL, consecutive_failures = 0,
                batch_size = CASE WHEN @grow = 0 THEN batch_size WHEN batch_size IS NULL OR batch_size * 2 >= @maxBatch THEN NULL ELSE batch_size * 2 END,
                changed_at = @now
            WHERE account = @account AND (changed_at IS NULL OR changed_at <= @started)
              AND (paused_until IS NOT NULL OR consecutive_failures > 0 OR batch_size IS NOT NULL)
            """,
            null,
            [("maxBatch", maxBatch), ("grow", growBatch ? 1 : 0), ("now", time.GetUtcNow()), ("account", account), ("started", batchStartedAt)],
            cancellationToken);
        return cleared > 0 && failing > 0;
    }

    // Accounts paused for an outage whose pause has run out.
    public async Task<IReadOnlyList<string>> ProbeDueAsync(string reasonPrefix, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(
            connection,
            "SELECT account FROM account_delivery WHERE consecutive_failures > 0 AND paused_until <= @now AND pause_reason LIKE @reason",
            null,
            [("now", now), ("reason", reasonPrefix + "%")],
            reader => reader.GetString(0),
            cancellationToken);
    }

    // Leads and notes that backed off while amoCRM was down are due now. Only the few that were sent and failed carry a
    // future time (the rest were stored during the pause and are due already), so the indexes keep this short.
    public async Task<int> ReleaseBackoffAsync(string account, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var leads = await Sql.ExecuteAsync(
            connection,
            "UPDATE leads SET next_attempt_at = @now WHERE account = @account AND status = @queued AND next_attempt_at > @now",
            transaction,
            [("now", now), ("account", account), ("queued", LeadStatus.Queued)],
            cancellationToken);
        var notes = await Sql.ExecuteAsync(
            connection,
            "UPDATE leads SET note_next_attempt_at = @now WHERE account = @account AND note_status = @pending AND note_next_attempt_at > @now",
            transaction,
            [("now", now), ("account", account), ("pending", NoteStatus.Pending)],
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return leads + notes;
    }
}
