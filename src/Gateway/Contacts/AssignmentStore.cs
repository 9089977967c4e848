using System.Data.Common;
using System.Text.Json.Nodes;
using Gateway.Data;
using Gateway.Outbox;
using Gateway.Security;

namespace Gateway.Contacts;

// What a lead's row holds of its assignment. ContactResponsibleUserId: the linked contact's responsible user, set by
// the contact step (lead mode) before the pick; "sticky" gives the lead to that user.
internal sealed record StoredAssignment(long Id, DateTimeOffset? AssignedAt, long? ResponsibleUserId, long? ContactResponsibleUserId)
{
    public static StoredAssignment Read(DbDataReader reader) => new(
        reader.Int64("id"), reader.TimeOrNull("assigned_at"), reader.Int64OrNull("responsible_user_id"), reader.Int64OrNull("contact_responsible_user_id"));
}

// One lead's pick, to be stored: a fixed user, or a round-robin turn over Candidates (active users, in order) on the
// counter CounterKey; Reason says how it was chosen. TaskSpec: the follow-up task's settings and text, sealed on the row.
internal sealed record PlannedAssignment(long Id, long? UserId, string? CounterKey, IReadOnlyList<long> Candidates, string Reason, string? TaskSpec, DateTimeOffset? TaskDueAt);

// The leads row's assignment columns and the round-robin counters (table round_robin, per account and list or group).
internal sealed class AssignmentStore(Database database, PersonalData personalData, TimeProvider time)
{
    public async Task<IReadOnlyDictionary<long, StoredAssignment>> ReadAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return new Dictionary<long, StoredAssignment>();
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await Sql.QueryAsync(
            connection,
            $"SELECT id, assigned_at, responsible_user_id, contact_responsible_user_id FROM leads WHERE id IN ({string.Join(", ", ids.Select((_, i) => "@i" + i))})",
            null,
            [.. ids.Select((id, i) => (SqlArg)("i" + i, id))],
            StoredAssignment.Read,
            cancellationToken);
        return rows.ToDictionary(r => r.Id);
    }

    // One transaction: each round-robin turn is taken (one atomic upsert … RETURNING on the counter) and stored on its
    // lead in the same commit, so a pick is made once per lead and a resend never takes a second turn. False when the
    // claim was lost (another worker holds these leads and picks for them): nothing is stored, no turn is taken.
    public async Task<IReadOnlyDictionary<long, long?>?> SaveAsync(string account, string claimToken, IReadOnlyList<PlannedAssignment> plans, CancellationToken cancellationToken)
    {
        var sealedSpecs = plans.ToDictionary(p => p.Id, p => personalData.SealOrNull(p.TaskSpec));
        var now = time.GetUtcNow();
        var chosen = new Dictionary<long, long?>();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var plan in plans)
        {
            var user = plan.UserId;
            if (plan.CounterKey is { } key && plan.Candidates.Count > 0)
            {
                var turn = await Sql.ScalarInt64Async(
                    connection,
                    """
                    INSERT INTO round_robin (account, list_key, counter) VALUES (@account, @key, 1)
                    ON CONFLICT (account, list_key) DO UPDATE SET counter = round_robin.counter + 1
                    RETURNING counter
                    """,
                    transaction,
                    [("account", account), ("key", key)],
                    cancellationToken) ?? 1;
                user = plan.Candidates[(int)((turn - 1) % plan.Candidates.Count)];
            }

            var stored = await Sql.ExecuteAsync(
                connection,
                """
                UPDATE leads SET assigned_at = @now, responsible_user_id = @user, responsible_reason = @reason,
                    task_spec = @spec, task_status = CASE WHEN @spec IS NULL THEN NULL ELSE @waiting END, task_due_at = @due
                WHERE id = @id AND claim_token = @claimToken AND assigned_at IS NULL
                """,
                transaction,
                [("now", now), ("user", user), ("reason", plan.Reason), ("spec", sealedSpecs[plan.Id]), ("waiting", Outbox.TaskStatus.Waiting), ("due", plan.TaskDueAt), ("id", plan.Id), ("claimToken", claimToken)],
                cancellationToken);
            if (stored != 1)
            {
                await transaction.RollbackAsync(cancellationToken);
                return null;
            }

            chosen[plan.Id] = user;
        }

        await transaction.CommitAsync(cancellationToken);
        return chosen;
    }

    // The additive fields of a lead's view (GET /api/v1/leads/{id}, the console's trace), once its responsible user was
    // picked: "responsible" (who the lead went to and why) and "task" (its follow-up task's step).
    public async Task AddToAsync(JsonObject view, string account, long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var assignment = await Sql.QuerySingleOrDefaultAsync(
            connection,
            "SELECT assigned_at, responsible_user_id, responsible_reason, task_status, task_id, task_entity_id, task_due_at, task_error, task_attempts FROM leads WHERE id = @id AND account = @account",
            null,
            [("id", id), ("account", account)],
            reader => reader.TimeOrNull("assigned_at") is null ? new JsonObject() : new JsonObject
            {
                ["responsible"] = new JsonObject
                {
                    ["user_id"] = reader.Int64OrNull("responsible_user_id"),
                    ["reason"] = reader.StringOrNull("responsible_reason"),
                },
                ["task"] = reader.StringOrNull("task_status") is { } status
                    ? new JsonObject
                    {
                        ["status"] = status,
                        ["task_id"] = reader.Int64OrNull("task_id"),
                        ["entity_id"] = reader.Int64OrNull("task_entity_id"),
                        ["complete_till"] = reader.TimeOrNull("task_due_at")?.ToUnixTimeSeconds(),
                        ["attempts"] = reader.Int64("task_attempts"),
                        ["error"] = reader.StringOrNull("task_error"),
                    }
                    : null,
            },
            cancellationToken);
        foreach (var (name, value) in assignment?.ToList() ?? [])
        {
            assignment!.Remove(name);
            view[name] = value;
        }
    }
}
