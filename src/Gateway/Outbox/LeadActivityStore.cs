using Gateway.Data;
using Gateway.Security;

namespace Gateway.Outbox;

internal sealed record LeadCounts(long Delivered, long Failed, long Received);

internal sealed record HourCount(long Hour, string Status, long Count);

// Phone, Email, Name: blind indexes (PersonalData.BlindIndex), never the values.
internal sealed record LeadSearch(string? Status, string? Source, DateTimeOffset? From, DateTimeOffset? To, long? BeforeId, int Limit, string? Phone = null, string? Email = null, string? Name = null);

// Read-only views of the leads table for the console: counts over a window, an hourly histogram, a search, one payload.
// The outbox's own store writes; nothing here changes a row.
internal sealed class LeadActivityStore(Database database, PersonalData personalData)
{
    public async Task<LeadCounts> CountsSinceAsync(string account, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QuerySingleAsync(
            connection,
            """
            SELECT
              (SELECT COUNT(*) FROM leads WHERE account = @account AND status = @delivered AND delivered_at >= @since) AS delivered,
              (SELECT COUNT(*) FROM leads WHERE account = @account AND status = @failed AND updated_at >= @since) AS failed,
              (SELECT COUNT(*) FROM leads WHERE account = @account AND created_at >= @since) AS received
            """,
            null,
            [("account", account), ("delivered", LeadStatus.Delivered), ("failed", LeadStatus.Failed), ("since", since)],
            r => new LeadCounts(r.Int64("delivered"), r.Int64("failed"), r.Int64("received")),
            cancellationToken);
    }

    // Leads received per hour since `from`, by their status now (hour 0 is the first hour after `from`).
    public async Task<IReadOnlyList<HourCount>> HourlyAsync(string account, DateTimeOffset from, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(
            connection,
            "SELECT (created_at - @from) / 3600000 AS hour, status, COUNT(*) AS n FROM leads WHERE account = @account AND created_at >= @from GROUP BY 1, 2",
            null,
            [("account", account), ("from", from)],
            r => new HourCount(r.Int64("hour"), r.String("status"), r.Int64("n")),
            cancellationToken);
    }

    // Newest first; `Source` is the name of the API key the lead came with.
    public async Task<IReadOnlyList<LeadRow>> SearchAsync(string account, LeadSearch search, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(
            connection,
            "SELECT " + LeadStore.LeadColumns + """
             FROM leads WHERE account = @account
              AND (@status IS NULL OR status = @status)
              AND (@source IS NULL OR idempotency_scope = @source)
              AND (@from IS NULL OR created_at >= @from)
              AND (@to IS NULL OR created_at < @to)
              AND (@before IS NULL OR id < @before)
              AND (@phone IS NULL OR phone_index = @phone)
              AND (@email IS NULL OR email_index = @email)
              AND (@name IS NULL OR name_index = @name)
             ORDER BY id DESC LIMIT @limit
            """,
            null,
            [("account", account), ("status", search.Status), ("source", search.Source), ("from", search.From), ("to", search.To), ("before", search.BeforeId), ("limit", search.Limit),
                ("phone", search.Phone), ("email", search.Email), ("name", search.Name)],
            LeadRow.Read,
            cancellationToken);
    }

    public async Task<IReadOnlyList<string>> SourcesAsync(string account, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(
            connection,
            "SELECT DISTINCT idempotency_scope AS source FROM leads WHERE account = @account AND idempotency_scope IS NOT NULL ORDER BY idempotency_scope LIMIT 200",
            null,
            [("account", account)],
            r => r.String("source"),
            cancellationToken);
    }

    // The submission as the caller sent it (opened), or null when the row is not this account's or cannot be opened.
    public async Task<string?> PayloadAsync(string account, long id, CancellationToken cancellationToken)
    {
        string? stored;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            stored = (string?)await Sql.ScalarAsync(connection, "SELECT payload FROM leads WHERE account = @account AND id = @id", null, [("account", account), ("id", id)], cancellationToken);
        }

        return personalData.TryOpen(stored, out var payload, out _) ? payload : null;
    }
}
