using System.Data.Common;
using Gateway.Data;
using Gateway.Security;

namespace Gateway.Outbox;

internal sealed record ClaimedNote
{
    public long Id { get; init; }
    public string SourceUid { get; init; } = "";
    public long AmoLeadId { get; init; }
    public string NoteText { get; init; } = "";
    public long NoteAttempts { get; init; }
    public string NoteClaimToken { get; init; } = "";
    public string? TraceParent { get; init; }

    // Why the stored text cannot be used (it cannot be decrypted); the note then fails instead of its batch.
    public string? Unreadable { get; init; }

    // An earlier send whose outcome was never learnt: the lead's notes are looked at before this one goes again.
    public DateTimeOffset? UnconfirmedSince { get; init; }

    public static ClaimedNote Read(DbDataReader reader) => new()
    {
        Id = reader.Int64("id"),
        SourceUid = reader.String("source_uid"),
        AmoLeadId = reader.Int64("amo_lead_id"),
        NoteText = reader.String("note_text"),
        NoteAttempts = reader.Int64("note_attempts"),
        NoteClaimToken = reader.String("note_claim_token"),
        UnconfirmedSince = reader.TimeOrNull("note_unconfirmed_since"),
        TraceParent = reader.StringOrNull("trace_parent"),
    };
}

// OutcomeKnown: amoCRM's answer told what the send did, so the "sent, outcome unknown" mark goes (a delivered note's always does).
internal sealed record NoteSettlement(long Id, string Status, long? NoteId, string? Error, DateTimeOffset? NextAttemptAt, bool OutcomeKnown = false);

// The note columns of the leads table: a delivered lead's note is queued, claimed and settled on its own lease,
// by the same protocol as the lead (see LeadStore), so a note never holds up the next lead.
internal sealed class NoteStore(Database database, PersonalData personalData, TimeProvider time)
{
    // minimum: claim nothing unless at least that many are due (a note sent alone to find a bad one goes regardless), so
    // the notes of several small lead batches share one call instead of one call each.
    public async Task<IReadOnlyList<ClaimedNote>> ClaimAsync(string account, int limit, TimeSpan lease, int minimum, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        IReadOnlyList<ClaimedNote> claimed;
        await using (var connection = await database.OpenWriterAsync(cancellationToken))
        {
            var solo = await ClaimWhereAsync(connection, account, 1, now, now + lease, solo: true, cancellationToken);
            claimed = solo.Count > 0 ? solo
                : minimum > 1 && await DueAsync(connection, account, minimum, now, cancellationToken) < minimum ? []
                : await ClaimWhereAsync(connection, account, limit, now, now + lease, solo: false, cancellationToken);
        }

        // Opened once the connection is back in the pool, as LeadStore does.
        return claimed.Select(n => personalData.TryOpen(n.NoteText, out var text, out var problem) ? n with { NoteText = text! } : n with { NoteText = "", Unreadable = problem }).ToList();
    }

    private static async Task<long> DueAsync(DbConnection connection, string account, int upTo, DateTimeOffset now, CancellationToken cancellationToken) =>
        await Sql.ScalarInt64Async(
            connection,
            """
            SELECT COUNT(*) FROM (
                SELECT id FROM leads WHERE account = @account AND note_status = @pending AND note_next_attempt_at <= @now AND note_solo = 0
                UNION ALL
                SELECT id FROM leads WHERE account = @account AND note_status = @delivering AND note_lease_until <= @now AND note_solo = 0
                LIMIT @upTo) AS due
            """,
            null,
            [("account", account), ("now", now), ("upTo", upTo), ("pending", NoteStatus.Pending), ("delivering", NoteStatus.Delivering)],
            cancellationToken) ?? 0;

    private async Task<IReadOnlyList<ClaimedNote>> ClaimWhereAsync(DbConnection connection, string account, int limit, DateTimeOffset now, DateTimeOffset leaseUntil, bool solo, CancellationToken cancellationToken)
    {
        var due = database.IsPostgres
            ? $"""
                SELECT id FROM leads
                WHERE account = @account AND note_solo = @solo
                  AND ((note_status = @pending AND note_next_attempt_at <= @now) OR (note_status = @delivering AND note_lease_until <= @now))
                ORDER BY id LIMIT @limit{database.SkipLocked}
                """
            : """
                SELECT id FROM (
                    SELECT id FROM leads WHERE account = @account AND note_status = @pending AND note_next_attempt_at <= @now AND note_solo = @solo
                    UNION ALL
                    SELECT id FROM leads WHERE account = @account AND note_status = @delivering AND note_lease_until <= @now AND note_solo = @solo) AS due
                ORDER BY id LIMIT @limit
                """;
        var sql = $"""
            UPDATE leads SET note_status = @delivering, note_lease_until = @leaseUntil, note_claim_token = @token, note_attempts = note_attempts + 1, updated_at = @now
            WHERE id IN ({due})
            RETURNING id, source_uid, amo_lead_id, note_text, note_attempts, note_claim_token, note_unconfirmed_since, trace_parent
            """;
        var rows = await Sql.QueryAsync(
            connection,
            sql,
            null,
            [
                ("account", account), ("limit", limit), ("now", now), ("leaseUntil", leaseUntil), ("solo", solo ? 1 : 0), ("token", Guid.NewGuid().ToString("N")),
                ("pending", NoteStatus.Pending), ("delivering", NoteStatus.Delivering),
            ],
            ClaimedNote.Read,
            cancellationToken);
        return rows.OrderBy(r => r.Id).ToList();
    }

    // Marks the notes "sent, outcome unknown" in the same write, as LeadStore.RenewClaimAsync does for leads.
    public async Task<bool> RenewClaimAsync(string claimToken, int count, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenWriterAsync(cancellationToken);
        var now = time.GetUtcNow();
        var renewed = await Sql.ExecuteAsync(
            connection,
            "UPDATE leads SET note_lease_until = @until, note_unconfirmed_since = COALESCE(note_unconfirmed_since, @now) WHERE note_claim_token = @claimToken AND note_status = @delivering",
            null,
            [("until", now + lease), ("now", now), ("claimToken", claimToken), ("delivering", NoteStatus.Delivering)],
            cancellationToken);
        return renewed == count;
    }

    public async Task SettleAsync(string claimToken, IReadOnlyList<NoteSettlement> notes, bool solo, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenWriterAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await Sql.ExecuteValuesAsync(
            connection,
            "r_id, r_status, r_note_id, r_error, r_next_at, r_known",
            """
            UPDATE leads SET note_status = v.r_status, note_id = COALESCE(v.r_note_id, note_id), note_error = v.r_error,
                note_next_attempt_at = v.r_next_at, note_lease_until = NULL, updated_at = @now,
                note_solo = CASE WHEN @solo THEN 1 ELSE note_solo END,
                note_unconfirmed_since = CASE WHEN v.r_known THEN NULL ELSE note_unconfirmed_since END
            FROM v WHERE leads.id = v.r_id AND leads.note_claim_token = @claimToken
            """,
            transaction,
            notes,
            n => [("id", n.Id), ("status", n.Status), ("note", n.NoteId), ("error", n.Error), ("next", n.NextAttemptAt), ("known", n.OutcomeKnown || n.Status == NoteStatus.Delivered)],
            [("now", time.GetUtcNow()), ("solo", solo), ("claimToken", claimToken)],
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
