using System.Data.Common;
using Gateway.Data;
using Gateway.Security;

namespace Gateway.Outbox;

internal static class TaskStatus
{
    // Prepared with the lead, before its send: goes out once the lead is delivered and its amoCRM id is known.
    public const string Waiting = "waiting";
    public const string Pending = "pending";
    public const string Delivering = "delivering";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

internal sealed record ClaimedTask
{
    public long Id { get; init; }
    public long EntityId { get; init; }
    public string Spec { get; init; } = "";
    public long? ResponsibleUserId { get; init; }
    public DateTimeOffset? DueAt { get; init; }
    public long Attempts { get; init; }
    public string ClaimToken { get; init; } = "";
    public string? TraceParent { get; init; }
    public string? Unreadable { get; init; }
    public DateTimeOffset? UnconfirmedSince { get; init; }

    public static ClaimedTask Read(DbDataReader reader) => new()
    {
        Id = reader.Int64("id"),
        EntityId = reader.Int64("task_entity_id"),
        Spec = reader.String("task_spec"),
        ResponsibleUserId = reader.Int64OrNull("responsible_user_id"),
        DueAt = reader.TimeOrNull("task_due_at"),
        Attempts = reader.Int64("task_attempts"),
        ClaimToken = reader.String("task_claim_token"),
        UnconfirmedSince = reader.TimeOrNull("task_unconfirmed_since"),
        TraceParent = reader.StringOrNull("trace_parent"),
    };
}

internal sealed record TaskSettlement(long Id, string Status, long? TaskId, string? Error, DateTimeOffset? NextAttemptAt, bool OutcomeKnown);

// The task columns of the leads table: a delivered lead's follow-up task is claimed and settled on its own lease, as
// its note is (NoteStore), so a task never holds up a lead and a refused task never fails its delivered lead.
internal sealed class TaskStore(Database database, PersonalData personalData, TimeProvider time)
{
    public async Task<IReadOnlyList<ClaimedTask>> ClaimAsync(string account, int limit, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var due = database.IsPostgres
            ? $"""
                SELECT id FROM leads
                WHERE account = @account AND ((task_status = @pending AND task_next_attempt_at <= @now) OR (task_status = @delivering AND task_lease_until <= @now))
                ORDER BY id LIMIT @limit{database.SkipLocked}
                """
            : """
                SELECT id FROM (
                    SELECT id FROM leads WHERE account = @account AND task_status = @pending AND task_next_attempt_at <= @now
                    UNION ALL
                    SELECT id FROM leads WHERE account = @account AND task_status = @delivering AND task_lease_until <= @now) AS due
                ORDER BY id LIMIT @limit
                """;
        List<ClaimedTask> rows;
        await using (var connection = await database.OpenWriterAsync(cancellationToken))
        {
            rows = await Sql.QueryAsync(
                connection,
                $"""
                UPDATE leads SET task_status = @delivering, task_lease_until = @leaseUntil, task_claim_token = @token, task_attempts = task_attempts + 1, updated_at = @now
                WHERE id IN ({due})
                RETURNING id, task_entity_id, task_spec, responsible_user_id, task_due_at, task_attempts, task_claim_token, task_unconfirmed_since, trace_parent
                """,
                null,
                [
                    ("account", account), ("limit", limit), ("now", now), ("leaseUntil", now + lease), ("token", Guid.NewGuid().ToString("N")),
                    ("pending", TaskStatus.Pending), ("delivering", TaskStatus.Delivering),
                ],
                ClaimedTask.Read,
                cancellationToken);
        }

        return rows.OrderBy(r => r.Id)
            .Select(t => personalData.TryOpen(t.Spec, out var spec, out var problem) ? t with { Spec = spec! } : t with { Spec = "", Unreadable = problem })
            .ToList();
    }

    // The deadline that goes out is stored before the send: a task whose answer is lost is then found by it.
    public async Task SetDueAsync(string claimToken, IReadOnlyList<(long Id, DateTimeOffset DueAt)> tasks, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenWriterAsync(cancellationToken);
        await Sql.ExecuteEachAsync(
            connection,
            "UPDATE leads SET task_due_at = @due WHERE id = @id AND task_claim_token = @claimToken AND task_status = @delivering",
            null,
            tasks,
            t => [("due", t.DueAt), ("id", t.Id), ("claimToken", claimToken), ("delivering", TaskStatus.Delivering)],
            cancellationToken);
    }

    // Marks the tasks "sent, outcome unknown" in the same write, as NoteStore.RenewClaimAsync does.
    public async Task<bool> RenewClaimAsync(string claimToken, int count, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenWriterAsync(cancellationToken);
        var now = time.GetUtcNow();
        var renewed = await Sql.ExecuteAsync(
            connection,
            "UPDATE leads SET task_lease_until = @until, task_unconfirmed_since = COALESCE(task_unconfirmed_since, @now) WHERE task_claim_token = @claimToken AND task_status = @delivering",
            null,
            [("until", now + lease), ("now", now), ("claimToken", claimToken), ("delivering", TaskStatus.Delivering)],
            cancellationToken);
        return renewed == count;
    }

    public async Task SettleAsync(string claimToken, IReadOnlyList<TaskSettlement> tasks, CancellationToken cancellationToken)
    {
        if (tasks.Count == 0)
        {
            return;
        }

        await using var connection = await database.OpenWriterAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await Sql.ExecuteEachAsync(
            connection,
            """
            UPDATE leads SET task_status = @Status, task_id = COALESCE(@TaskId, task_id), task_error = @Error,
                task_next_attempt_at = COALESCE(@NextAttemptAt, task_next_attempt_at), task_lease_until = NULL, updated_at = @now,
                task_unconfirmed_since = CASE WHEN @known THEN NULL ELSE task_unconfirmed_since END
            WHERE id = @Id AND task_claim_token = @claimToken
            """,
            transaction,
            tasks,
            t =>
            [
                ("Status", t.Status), ("TaskId", t.TaskId), ("Error", t.Error), ("NextAttemptAt", t.NextAttemptAt), ("now", time.GetUtcNow()), ("Id", t.Id),
                ("known", t.OutcomeKnown || t.Status == TaskStatus.Delivered), ("claimToken", claimToken),
            ],
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
