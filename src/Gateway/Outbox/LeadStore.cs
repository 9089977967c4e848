using System.Data.Common;
using Gateway.Data;
using Gateway.Security;

namespace Gateway.Outbox;

internal static class LeadStatus
{
    public const string Queued = "queued";
    public const string Delivering = "delivering";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

// A delivered lead's note: pending until sent, then delivered or failed; null when the lead carried none.
internal static class NoteStatus
{
    public const string Pending = "pending";
    public const string Delivering = "delivering";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

// TraceParent: the intake span's W3C traceparent (Observability.GatewayTracing), so later attempts join its trace.
// Search: the blind indexes of the contact's phone, email and name (Leads.LeadSearchIndex), for the console's search.
internal sealed record NewLead(string Account, string SourceUid, string Payload, string? CallerIp, string? IdempotencyScope, string? IdempotencyKey, string? RequestHash, string? TraceParent = null, LeadSearchKeys? Search = null);

internal sealed record LeadSearchKeys(string? Phone, string? Email, string? Name);

internal sealed record InsertedLead(long Id, bool Existing, string? RequestHash);

internal sealed record ClaimedLead
{
    public long Id { get; init; }
    public string SourceUid { get; init; } = "";
    public string Payload { get; init; } = "";
    public string? CallerIp { get; init; }
    public long Attempts { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset QueuedAt { get; init; }
    public string ClaimToken { get; init; } = "";

    // Until when the claim is this worker's (LeadDelivery sends a batch claimed moments ago without renewing it).
    public DateTimeOffset LeaseUntil { get; init; }
    public string? TraceParent { get; init; }

    // Why the stored payload cannot be used (it cannot be decrypted); the lead then fails instead of its batch.
    public string? Unreadable { get; init; }

    // Set when an earlier send went out and its outcome was never learnt (the answer was lost, or the sender died):
    // the lead may exist in amoCRM already, so it is looked for before it is sent again.
    public DateTimeOffset? UnconfirmedSince { get; init; }

    // Set when a claim of this lead ran out before it was settled: its claimant may have sent it in unsorted mode (a
    // fresh claim's send writes nothing before it goes), or may have stopped before sending anything. The unsorted path
    // looks for it like an unconfirmed lead; lead mode does not need it (its creates are marked before they go).
    public DateTimeOffset? LapsedSince { get; init; }

    // Lead mode's recorded steps (see DirectLeadDelivery): whether the contact step is done and what it found.
    public DirectSteps Steps { get; init; } = DirectSteps.None;

    public static ClaimedLead Read(DbDataReader reader) => new()
    {
        Id = reader.Int64("id"),
        SourceUid = reader.String("source_uid"),
        Payload = reader.String("payload"),
        CallerIp = reader.StringOrNull("caller_ip"),
        Attempts = reader.Int64("attempts"),
        CreatedAt = reader.Time("created_at"),
        QueuedAt = reader.Time("queued_at"),
        ClaimToken = reader.String("claim_token"),
        LeaseUntil = reader.Time("lease_until"),
        UnconfirmedSince = reader.TimeOrNull("unconfirmed_since"),
        LapsedSince = reader.TimeOrNull("lapsed_since"),
        TraceParent = reader.StringOrNull("trace_parent"),
        Steps = DirectSteps.Read(reader),
    };
}

internal sealed record DeliveredLead(long Id, string SourceUid, string Uid, long? LeadId, long? ContactId, string Answer, string? NoteText);

internal sealed record LeadRow
{
    public long Id { get; init; }
    public string Account { get; init; } = "";
    public string SourceUid { get; init; } = "";
    public string Status { get; init; } = "";
    public long Attempts { get; init; }
    public DateTimeOffset NextAttemptAt { get; init; }
    public string? LastError { get; init; }
    public string? AmoUid { get; init; }
    public long? AmoLeadId { get; init; }
    public long? AmoContactId { get; init; }
    public string? AmoAnswer { get; init; }
    public string? NoteStatus { get; init; }
    public long? NoteId { get; init; }
    public string? NoteError { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? DeliveredAt { get; init; }
    public string? RequestHash { get; init; }
    public string? IdempotencyKey { get; init; }

    // The name of the API key the lead was submitted with.
    public string? IdempotencyScope { get; init; }

    public string? TraceParent { get; init; }

    public DirectSteps Steps { get; init; } = DirectSteps.None;

    // The columns of LeadStore.LeadColumns.
    public static LeadRow Read(DbDataReader reader) => new()
    {
        Steps = DirectSteps.Read(reader),
        Id = reader.Int64("id"),
        Account = reader.String("account"),
        SourceUid = reader.String("source_uid"),
        Status = reader.String("status"),
        Attempts = reader.Int64("attempts"),
        NextAttemptAt = reader.Time("next_attempt_at"),
        LastError = reader.StringOrNull("last_error"),
        AmoUid = reader.StringOrNull("amo_uid"),
        AmoLeadId = reader.Int64OrNull("amo_lead_id"),
        AmoContactId = reader.Int64OrNull("amo_contact_id"),
        AmoAnswer = reader.StringOrNull("amo_answer"),
        NoteStatus = reader.StringOrNull("note_status"),
        NoteId = reader.Int64OrNull("note_id"),
        NoteError = reader.StringOrNull("note_error"),
        CreatedAt = reader.Time("created_at"),
        UpdatedAt = reader.Time("updated_at"),
        DeliveredAt = reader.TimeOrNull("delivered_at"),
        RequestHash = reader.StringOrNull("request_hash"),
        IdempotencyKey = reader.StringOrNull("idempotency_key"),
        IdempotencyScope = reader.StringOrNull("idempotency_scope"),
        TraceParent = reader.StringOrNull("trace_parent"),
    };
}

internal sealed record QueueStats
{
    public long Queued { get; init; }
    public long Delivering { get; init; }
    public long Failed { get; init; }
    public long NotesPending { get; init; }
    public DateTimeOffset? OldestQueuedAt { get; init; }

    // Whole seconds, never negative: another instance's clock may run a little ahead of this one's.
    public long? OldestQueuedAgeSeconds(DateTimeOffset now) =>
        OldestQueuedAt is { } at ? Math.Max(0, (long)(now - at).TotalSeconds) : null;

    // Named by the aliases in LeadStore.StatsAsync (PostgreSQL folds them to lower case; readers match names either way).
    public static QueueStats Read(DbDataReader reader) => new()
    {
        Queued = reader.Int64("Queued"),
        Delivering = reader.Int64("Delivering"),
        Failed = reader.Int64("Failed"),
        NotesPending = reader.Int64("NotesPending"),
        OldestQueuedAt = reader.TimeOrNull("OldestQueuedAt"),
    };
}

// The outbox table: the database row is the queue, each claim is a lease, nothing is deleted unless delivered and old.
internal sealed class LeadStore(Database database, PersonalData personalData, TimeProvider time)
{
    internal const string LeadColumns = "id, account, source_uid, status, attempts, next_attempt_at, last_error, amo_uid, amo_lead_id, amo_contact_id, amo_answer, note_status, note_id, note_error, created_at, updated_at, delivered_at, request_hash, idempotency_key, idempotency_scope, trace_parent, " + DirectSteps.Columns;

    private DateTimeOffset Now => time.GetUtcNow();

    // One transaction for a whole group of intakes: one fsync acknowledges them all.
    // Rows go in idempotency-key order, so two instances' groups sharing keys lock them in the same order; a deadlock
    // PostgreSQL still reports (say, with a unique source_uid) costs one retry of the group, not its callers' requests.
    public async Task<IReadOnlyList<InsertedLead>> InsertAsync(IReadOnlyList<NewLead> leads, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await InsertOnceAsync(leads, cancellationToken);
            }
            catch (Npgsql.PostgresException ex) when (ex.SqlState is Npgsql.PostgresErrorCodes.DeadlockDetected or Npgsql.PostgresErrorCodes.SerializationFailure && attempt < 3)
            {
            }
        }
    }

    // One multi-row INSERT for the whole group and, only when some keys were seen before, one SELECT for those: two round
    // trips at most instead of one per lead (on PostgreSQL each is a network round trip). Rows go in key order, as above.
    private async Task<IReadOnlyList<InsertedLead>> InsertOnceAsync(IReadOnlyList<NewLead> leads, CancellationToken cancellationToken)
    {
        var now = Now;
        var results = new InsertedLead?[leads.Count];
        var order = Enumerable.Range(0, leads.Count)
            .OrderBy(i => leads[i].Account, StringComparer.Ordinal)
            .ThenBy(i => leads[i].IdempotencyScope, StringComparer.Ordinal)
            .ThenBy(i => leads[i].IdempotencyKey, StringComparer.Ordinal)
            .ToList();
        await using var connection = await database.OpenWriterAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Eleven parameters a row (the a…nm names below).
        var insertChunk = Sql.RowsPerStatement(connection, 11);
        for (var offset = 0; offset < order.Count; offset += insertChunk)
        {
            var chunk = order.Skip(offset).Take(insertChunk).ToList();
            List<SqlArg> parameters = [("queued", LeadStatus.Queued), ("now", now)];
            var values = new List<string>(chunk.Count);
            for (var n = 0; n < chunk.Count; n++)
            {
                var lead = leads[chunk[n]];
                values.Add($"(@a{n}, @u{n}, @queued, @p{n}, @c{n}, @s{n}, @k{n}, @h{n}, @now, @now, @now, @now, @t{n}, @ph{n}, @em{n}, @nm{n})");
                parameters.AddRange(
                [
                    ($"a{n}", lead.Account), ($"u{n}", lead.SourceUid), ($"p{n}", lead.Payload), ($"c{n}", lead.CallerIp), ($"s{n}", lead.IdempotencyScope),
                    ($"k{n}", lead.IdempotencyKey), ($"h{n}", lead.RequestHash), ($"t{n}", lead.TraceParent),
                    ($"ph{n}", lead.Search?.Phone), ($"em{n}", lead.Search?.Email), ($"nm{n}", lead.Search?.Name),
                ]);
            }

            var inserted = await Sql.QueryAsync(
                connection,
                $"""
                INSERT INTO leads (account, source_uid, status, payload, caller_ip, idempotency_scope, idempotency_key, request_hash,
                    next_attempt_at, created_at, queued_at, updated_at, trace_parent, phone_index, email_index, name_index)
                VALUES {string.Join(", ", values)}
                ON CONFLICT DO NOTHING
                RETURNING id, source_uid
                """,
                transaction,
                parameters,
                reader => (Id: reader.Int64("id"), SourceUid: reader.String("source_uid")),
                cancellationToken);
            var ids = inserted.ToDictionary(r => r.SourceUid, r => r.Id, StringComparer.Ordinal);
            foreach (var index in chunk)
            {
                if (ids.TryGetValue(leads[index].SourceUid, out var id))
                {
                    results[index] = new InsertedLead(id, false, leads[index].RequestHash);
                }
            }
        }

        // A key seen before (in an earlier group, or earlier in this one): the answer is the first request's lead.
        var existing = order.Where(i => results[i] is null).ToList();
        // Three a row: account, scope, key.
        var selectChunk = Sql.RowsPerStatement(connection, 3);
        for (var offset = 0; offset < existing.Count; offset += selectChunk)
        {
            var chunk = existing.Skip(offset).Take(selectChunk).ToList();
            List<SqlArg> parameters = [];
            var keys = new List<string>(chunk.Count);
            for (var n = 0; n < chunk.Count; n++)
            {
                var lead = leads[chunk[n]];
                keys.Add($"(account = @a{n} AND idempotency_scope = @s{n} AND idempotency_key = @k{n})");
                parameters.AddRange([($"a{n}", lead.Account), ($"s{n}", lead.IdempotencyScope), ($"k{n}", lead.IdempotencyKey)]);
            }

            var found = await Sql.QueryAsync(
                connection,
                $"SELECT id, request_hash, account, idempotency_scope, idempotency_key FROM leads WHERE {string.Join(" OR ", keys)}",
                transaction,
                parameters,
                reader => (Key: (reader.String("account"), reader.String("idempotency_scope"), reader.String("idempotency_key")), Lead: new InsertedLead(reader.Int64("id"), true, reader.StringOrNull("request_hash"))),
                cancellationToken);
            var byKey = found.ToDictionary(f => f.Key, f => f.Lead);
            foreach (var index in chunk)
            {
                var lead = leads[index];
                results[index] = lead.IdempotencyScope is { } scope && lead.IdempotencyKey is { } key && byKey.TryGetValue((lead.Account, scope, key), out var first)
                    ? first
                    : throw new InvalidOperationException($"Lead {lead.SourceUid} was neither stored nor found by its idempotency key");
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return results!;
    }

    // Due leads and leads whose lease ran out (a crashed or killed deliverer) are claimed alike.
    // Leads marked solo (their batch was refused as a whole) go one at a time until the culprit is found.
    public async Task<IReadOnlyList<ClaimedLead>> ClaimAsync(string account, int limit, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = Now;
        IReadOnlyList<ClaimedLead> claimed;
        await using (var connection = await database.OpenWriterAsync(cancellationToken))
        {
            var solo = await ClaimWhereAsync(connection, account, 1, now, now + lease, solo: true, cancellationToken);
            claimed = solo.Count > 0 ? solo : await ClaimWhereAsync(connection, account, limit, now, now + lease, solo: false, cancellationToken);
        }

        // Opened once the connection is back in the pool: a key-ring read may need one of its own.
        return claimed.Select(Open).ToList();
    }

    private ClaimedLead Open(ClaimedLead lead) =>
        personalData.TryOpen(lead.Payload, out var payload, out var problem) && personalData.TryOpen(lead.CallerIp, out var callerIp, out problem)
            ? lead with { Payload = payload!, CallerIp = callerIp }
            : lead with { Payload = "", CallerIp = null, Unreadable = problem };

    // One claim of two parts, each led by its own index: leads whose lease ran out (a crashed or killed deliverer;
    // usually none), then due leads in the order they became due, up to the limit. One query ordered by id for both had
    // PostgreSQL walk the primary key past every delivered lead kept for OUTBOX_RETENTION_SECONDS on every claim (11 ms a
    // claim after 10,000 deliveries, growing with the table); each part reads only the rows it claims. One statement, not
    // one per part: the expired part is nearly always empty, and a statement is a round trip.
    // SQLite: one writer, so the UPDATE itself is the claim. PostgreSQL: instances claim side by side; SKIP LOCKED
    // hands each a different set instead of making them queue.
    // A lead whose lease ran out may have been sent by its claimant before it stopped (LeadDelivery writes nothing before
    // the send of a fresh claim): it is marked as lapsed since that claim, so the unsorted path looks for it first.
    private async Task<IReadOnlyList<ClaimedLead>> ClaimWhereAsync(DbConnection connection, string account, int limit, DateTimeOffset now, DateTimeOffset leaseUntil, bool solo, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid().ToString("N");
        var sql = $"""
            UPDATE leads SET status = @delivering, lease_until = @leaseUntil, claim_token = @token, attempts = attempts + 1, updated_at = @now,
                lapsed_since = CASE WHEN status = @delivering THEN COALESCE(lapsed_since, updated_at) ELSE lapsed_since END
            WHERE id IN (
                SELECT id FROM (SELECT id FROM leads WHERE account = @account AND status = @delivering AND lease_until <= @now AND solo = @solo
                    ORDER BY id LIMIT @limit{database.SkipLocked}) AS expired
                UNION ALL
                SELECT id FROM (SELECT id FROM leads WHERE account = @account AND status = @queued AND next_attempt_at <= @now AND solo = @solo
                    ORDER BY next_attempt_at, id LIMIT @limit{database.SkipLocked}) AS due
                LIMIT @limit)
            RETURNING id, source_uid, payload, caller_ip, attempts, created_at, queued_at, claim_token, lease_until, unconfirmed_since, lapsed_since, trace_parent, {DirectSteps.Columns}
            """;
        var rows = await Sql.QueryAsync(
            connection,
            sql,
            null,
            [
                ("account", account), ("limit", limit), ("now", now), ("leaseUntil", leaseUntil), ("solo", solo ? 1 : 0), ("token", token),
                ("queued", LeadStatus.Queued), ("delivering", LeadStatus.Delivering),
            ],
            ClaimedLead.Read,
            cancellationToken);
        return rows.OrderBy(r => r.Id).ToList();
    }

    // Just before a batch goes out, when its claim is no longer fresh (LeadDelivery): renewed for a full lease, or found
    // lost (the lease ran out while the batch waited for a token refresh or a rate slot, and another worker claimed the
    // items). Lost means do not send. The same write marks the rows "sent, outcome unknown" (the earliest such send is
    // kept), as the settlement of a lost answer does: whoever claims them next looks for them in amoCRM before sending
    // again. A withdrawn batch leaves the rows it still held marked: one needless look later, never a blind resend.
    // By id (the claim token has no index of its own, which would cost every write of a lead one more entry).
    public async Task<bool> RenewClaimAsync(string claimToken, IReadOnlyCollection<long> ids, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenWriterAsync(cancellationToken);
        var now = Now;
        var renewed = await Sql.ExecuteAsync(
            connection,
            $"UPDATE leads SET lease_until = @until, unconfirmed_since = COALESCE(unconfirmed_since, @now) WHERE id IN ({Sql.IdList(ids)}) AND claim_token = @claimToken AND status = @delivering",
            null,
            [("until", now + lease), ("now", now), ("claimToken", claimToken), ("delivering", LeadStatus.Delivering)],
            cancellationToken);
        return renewed == ids.Count;
    }

    // One transaction for the whole verdict on a batch. Every settle names the claim it settles: a worker whose lease
    // ran out cannot overwrite the next claimant's result.
    // announceDelivered/announceFailed: someone listens for that outcome, so the rows are marked as owing their event in
    // this same commit (AnnouncedAsync clears the mark once the event is stored; OwedAnnouncementsAsync finds the rest).
    public async Task SettleAsync(string claimToken, IReadOnlyList<DeliveredLead> delivered, IReadOnlyList<FailedLead> failed, LeadRequeue? requeue, CancellationToken cancellationToken,
        bool announceDelivered = false, bool announceFailed = false)
    {
        if (delivered.Count == 0 && failed.Count == 0 && (requeue is null || requeue.Items.Count == 0))
        {
            return;
        }

        // Sealed before the connection is taken, for the same reason leads are opened after it is returned.
        delivered = delivered.Select(d => d with { NoteText = personalData.SealOrNull(d.NoteText) }).ToList();
        var now = Now;
        await using var connection = await database.OpenWriterAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (delivered.Count > 0)
        {
            await Sql.ExecuteValuesAsync(
                connection,
                "r_id, r_uid, r_lead_id, r_contact_id, r_answer, r_note_text",
                """
                UPDATE leads SET status = @deliveredStatus, lease_until = NULL, last_error = NULL, amo_uid = v.r_uid, amo_lead_id = v.r_lead_id,
                    amo_contact_id = v.r_contact_id, amo_answer = v.r_answer, delivered_at = @now, updated_at = @now, unconfirmed_since = NULL, lapsed_since = NULL,
                    note_text = v.r_note_text,
                    note_status = CASE WHEN v.r_note_text IS NULL THEN NULL WHEN v.r_lead_id IS NULL THEN @noteFailed ELSE @notePending END,
                    note_error = CASE WHEN v.r_note_text IS NOT NULL AND v.r_lead_id IS NULL THEN 'amoCRM did not name the created lead, so its note could not be attached' END,
                    note_next_attempt_at = @now,
                    task_entity_id = CASE WHEN task_status = @taskWaiting THEN COALESCE(task_entity_id, v.r_lead_id) ELSE task_entity_id END,
                    task_error = CASE WHEN task_status = @taskWaiting AND COALESCE(task_entity_id, v.r_lead_id) IS NULL THEN 'amoCRM did not name the created lead, so its task could not be attached' ELSE task_error END,
                    task_status = CASE WHEN task_status IS NULL OR task_status <> @taskWaiting THEN task_status WHEN COALESCE(task_entity_id, v.r_lead_id) IS NULL THEN @taskFailed ELSE @taskPending END,
                    task_next_attempt_at = @now,
                    outcome_event = CASE WHEN @announce THEN 1 END
                FROM v WHERE leads.id = v.r_id AND leads.claim_token = @claimToken
                """,
                transaction,
                delivered,
                lead => [("id", lead.Id), ("uid", lead.Uid), ("lead", lead.LeadId), ("contact", lead.ContactId), ("answer", lead.Answer), ("note", lead.NoteText)],
                [
                    ("now", now), ("claimToken", claimToken), ("announce", announceDelivered),
                    ("deliveredStatus", LeadStatus.Delivered), ("noteFailed", NoteStatus.Failed), ("notePending", NoteStatus.Pending),
                    ("taskWaiting", TaskStatus.Waiting), ("taskFailed", TaskStatus.Failed), ("taskPending", TaskStatus.Pending),
                ],
                cancellationToken);
        }

        if (failed.Count > 0)
        {
            await Sql.ExecuteValuesAsync(
                connection,
                "r_id, r_error, r_outcome_known, r_unconfirmed",
                """
                UPDATE leads SET status = @failedStatus, lease_until = NULL, last_error = v.r_error, updated_at = @now,
                    unconfirmed_since = CASE WHEN v.r_outcome_known THEN NULL WHEN v.r_unconfirmed THEN COALESCE(unconfirmed_since, @now) ELSE unconfirmed_since END,
                    lapsed_since = CASE WHEN v.r_outcome_known THEN NULL ELSE lapsed_since END,
                    outcome_event = CASE WHEN @announce THEN 1 END
                FROM v WHERE leads.id = v.r_id AND leads.status = @delivering AND leads.claim_token = @claimToken
                """,
                transaction,
                failed,
                f => [("id", f.Id), ("error", f.Error), ("known", f.OutcomeKnown), ("unconfirmed", f.SentUnconfirmed)],
                [("now", now), ("claimToken", claimToken), ("failedStatus", LeadStatus.Failed), ("announce", announceFailed), ("delivering", LeadStatus.Delivering)],
                cancellationToken);
        }

        if (requeue is { Items.Count: > 0 })
        {
            // Back to the queue: with a delay after a failure, at once when the item itself did nothing wrong.
            await Sql.ExecuteValuesAsync(
                connection,
                "r_id, r_next_at",
                """
                UPDATE leads SET status = @queued, lease_until = NULL, next_attempt_at = v.r_next_at, updated_at = @now,
                    last_error = COALESCE(@error, last_error),
                    attempts = CASE WHEN @countAttempt THEN attempts ELSE attempts - 1 END,
                    solo = CASE WHEN @solo THEN 1 ELSE solo END,
                    unconfirmed_since = CASE WHEN @outcomeKnown THEN NULL WHEN @sentUnconfirmed THEN COALESCE(unconfirmed_since, @now) ELSE unconfirmed_since END,
                    lapsed_since = CASE WHEN @outcomeKnown THEN NULL ELSE lapsed_since END
                FROM v WHERE leads.id = v.r_id AND leads.status = @delivering AND leads.claim_token = @claimToken
                """,
                transaction,
                requeue.Items,
                i => [("id", i.Id), ("next", i.NextAttemptAt)],
                [
                    ("now", now), ("error", requeue.Error), ("countAttempt", requeue.CountAttempt), ("solo", requeue.Solo),
                    ("outcomeKnown", requeue.OutcomeKnown), ("sentUnconfirmed", requeue.SentUnconfirmed),
                    ("claimToken", claimToken), ("queued", LeadStatus.Queued), ("delivering", LeadStatus.Delivering),
                ],
                cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<LeadRow?> GetAsync(string account, long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QuerySingleOrDefaultAsync(
            connection, "SELECT " + LeadColumns + " FROM leads WHERE id = @id AND account = @account", null, [("id", id), ("account", account)], LeadRow.Read, cancellationToken);
    }

    // What the events room tells about settled leads: each row with its opened payload (null when it cannot be opened).
    public async Task<IReadOnlyList<(LeadRow Row, string? Payload)>> SettledAsync(string account, IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        var result = new List<(LeadRow, string?)>();
        await using var connection = await database.OpenAsync(cancellationToken);
        foreach (var id in ids)
        {
            var row = await Sql.QuerySingleOrDefaultAsync(
                connection, "SELECT " + LeadColumns + ", payload FROM leads WHERE id = @id AND account = @account", null, [("id", id), ("account", account)],
                reader => new Tuple<LeadRow, string>(LeadRow.Read(reader), reader.String("payload")), cancellationToken);
            if (row is not null)
            {
                result.Add((row.Item1, personalData.TryOpen(row.Item2, out var payload, out _) ? payload : null));
            }
        }

        return result;
    }

    // Their events are stored: the marks set by SettleAsync go.
    public async Task AnnouncedAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            $"UPDATE leads SET outcome_event = NULL WHERE outcome_event IS NOT NULL AND id IN ({Sql.IdList(ids)})",
            null, [], cancellationToken);
    }

    // Settled leads still owing their event since before `settledBefore`: the process stopped between the settlement's
    // commit and the event's (a crash, a kill, a database that refused the event). Oldest first.
    public async Task<IReadOnlyList<(string Account, long Id)>> OwedAnnouncementsAsync(DateTimeOffset settledBefore, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(
            connection,
            "SELECT account, id FROM leads WHERE outcome_event IS NOT NULL AND updated_at < @before ORDER BY updated_at LIMIT @limit",
            null, [("before", settledBefore), ("limit", limit)], reader => (reader.String("account"), reader.Int64("id")), cancellationToken);
    }

    // createdBy: only the leads submitted under that key name (null: every key's).
    public async Task<IReadOnlyList<LeadRow>> ListAsync(string account, string? status, string? createdBy, long afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(
            connection,
            "SELECT " + LeadColumns + " FROM leads WHERE account = @account AND (@status IS NULL OR status = @status) AND (@createdBy IS NULL OR idempotency_scope = @createdBy) AND id > @afterId ORDER BY id LIMIT @limit",
            null,
            [("account", account), ("status", status), ("createdBy", createdBy), ("afterId", afterId), ("limit", limit)],
            LeadRow.Read,
            cancellationToken);
    }

    // A retried lead is picked for again (its responsible user may have been refused as inactive); its task, never sent
    // while the lead had not been delivered, is prepared again with the new pick.
    public async Task<int> RetryFailedAsync(string account, long? id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.ExecuteAsync(
            connection,
            """
            UPDATE leads SET status = @queued, attempts = 0, solo = 0, next_attempt_at = @now, queued_at = @now, updated_at = @now,
                assigned_at = NULL, task_spec = CASE WHEN task_status = @taskWaiting THEN NULL ELSE task_spec END,
                task_status = CASE WHEN task_status = @taskWaiting THEN NULL ELSE task_status END
            WHERE account = @account AND status = @failed AND (@id IS NULL OR id = @id)
            """,
            null,
            [("queued", LeadStatus.Queued), ("now", Now), ("account", account), ("failed", LeadStatus.Failed), ("id", id), ("taskWaiting", TaskStatus.Waiting)],
            cancellationToken);
    }

    // Only accounts with a token can deliver (the token room names them): one indexed probe per named account, so a
    // wake-up never scans a long outbox. The accounts become a row source of parameters, the same SQL on both databases.
    public Task<IReadOnlyList<string>> AccountsWithWorkAsync(IReadOnlyList<string> accounts, CancellationToken cancellationToken) =>
        AccountsWithWorkAsync(accounts, Now, cancellationToken);

    // dueBy: work due by then counts (DateTimeOffset.MaxValue: any work at all, backing off or leased).
    public async Task<IReadOnlyList<string>> AccountsWithWorkAsync(IReadOnlyList<string> accounts, DateTimeOffset dueBy, CancellationToken cancellationToken)
    {
        if (accounts.Count == 0)
        {
            return [];
        }

        List<SqlArg> parameters =
        [
            ("now", dueBy), ("queued", LeadStatus.Queued), ("delivering", LeadStatus.Delivering), ("notePending", NoteStatus.Pending), ("noteDelivering", NoteStatus.Delivering),
            ("taskPending", TaskStatus.Pending), ("taskDelivering", TaskStatus.Delivering),
            .. accounts.Select((account, i) => (SqlArg)($"a{i}", account)),
        ];

        var named = string.Join(" UNION ALL ", accounts.Select((_, i) => $"SELECT @a{i} AS account"));
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(
            connection,
            $"""
            SELECT account FROM ({named}) t
            WHERE EXISTS (SELECT 1 FROM leads WHERE account = t.account AND status = @queued AND next_attempt_at <= @now)
               OR EXISTS (SELECT 1 FROM leads WHERE account = t.account AND status = @delivering AND lease_until <= @now)
               OR EXISTS (SELECT 1 FROM leads WHERE account = t.account AND note_status = @notePending AND note_next_attempt_at <= @now)
               OR EXISTS (SELECT 1 FROM leads WHERE account = t.account AND note_status = @noteDelivering AND note_lease_until <= @now)
               OR EXISTS (SELECT 1 FROM leads WHERE account = t.account AND task_status = @taskPending AND task_next_attempt_at <= @now)
               OR EXISTS (SELECT 1 FROM leads WHERE account = t.account AND task_status = @taskDelivering AND task_lease_until <= @now)
            """,
            null,
            parameters,
            reader => reader.GetString(0),
            cancellationToken);
    }

    public async Task<QueueStats> StatsAsync(string account, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QuerySingleAsync(
            connection,
            """
            SELECT
                COALESCE(SUM(CASE WHEN status = @queued THEN 1 ELSE 0 END), 0) AS Queued,
                COALESCE(SUM(CASE WHEN status = @delivering THEN 1 ELSE 0 END), 0) AS Delivering,
                COALESCE(SUM(CASE WHEN status = @failed THEN 1 ELSE 0 END), 0) AS Failed,
                COALESCE(SUM(CASE WHEN note_status IN (@notePending, @noteDelivering) THEN 1 ELSE 0 END), 0) AS NotesPending,
                MIN(CASE WHEN status IN (@queued, @delivering) THEN created_at END) AS OldestQueuedAt
            FROM leads WHERE account = @account AND (status IN (@queued, @delivering, @failed) OR note_status IN (@notePending, @noteDelivering))
            """,
            null,
            [
                ("account", account), ("queued", LeadStatus.Queued), ("delivering", LeadStatus.Delivering), ("failed", LeadStatus.Failed),
                ("notePending", NoteStatus.Pending), ("noteDelivering", NoteStatus.Delivering),
            ],
            QueueStats.Read,
            cancellationToken);
    }

    // Only delivered leads whose note is settled leave; failed ones stay until someone retries them.
    // Deleted in chunks so the write lock is never held long enough to stall intake.
    public async Task<int> PruneDeliveredAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        var before = Now - retention;
        var total = 0;
        while (true)
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var gone = await Sql.QueryAsync(
                connection,
                """
                SELECT id, account FROM leads WHERE status = @delivered AND delivered_at < @before
                  AND (note_status IS NULL OR note_status IN (@noteDelivered, @noteFailed))
                  AND (task_status IS NULL OR task_status IN (@noteDelivered, @noteFailed))
                LIMIT 1000
                """,
                transaction,
                [("delivered", LeadStatus.Delivered), ("before", before), ("noteDelivered", NoteStatus.Delivered), ("noteFailed", NoteStatus.Failed)],
                reader => (reader.String("account"), reader.Int64("id")),
                cancellationToken);
            var deleted = 0;
            if (gone.Count > 0)
            {
                // The lead's trace goes with it.
                await LeadCallStore.ForgetAsync(connection, transaction, gone, cancellationToken);
                deleted = await Sql.ExecuteAsync(
                    connection,
                    $"DELETE FROM leads WHERE id IN ({Sql.IdList(gone.Select(g => g.Item2))})",
                    transaction,
                    [],
                    cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            total += deleted;
            if (deleted < 1000)
            {
                return total;
            }
        }
    }
}
