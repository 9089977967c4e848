using System.Data.Common;
using Gateway.Data;
using Gateway.Security;

namespace Gateway.Sources;

internal static class SubmissionStatus
{
    // Stored, not yet a lead (or the process stopped before it became one).
    public const string Received = "received";
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";
}

// A form tool's request exactly as it came (body sealed like a lead's personal data), and what became of it.
internal sealed record SubmissionRow
{
    public long Id { get; init; }
    public string Account { get; init; } = "";
    public string Tool { get; init; } = "";
    public string? KeyName { get; init; }
    public string? Form { get; init; }
    public string? ContentType { get; init; }
    public string Body { get; init; } = "";
    public string Status { get; init; } = "";
    public string? Problem { get; init; }
    public long? LeadId { get; init; }
    public DateTimeOffset ReceivedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    public static SubmissionRow Read(DbDataReader reader) => new()
    {
        Id = reader.Int64("id"),
        Account = reader.String("account"),
        Tool = reader.String("tool"),
        KeyName = reader.StringOrNull("key_name"),
        Form = reader.StringOrNull("form"),
        ContentType = reader.StringOrNull("content_type"),
        Body = reader.String("body"),
        Status = reader.String("status"),
        Problem = reader.StringOrNull("problem"),
        LeadId = reader.Int64OrNull("lead_id"),
        ReceivedAt = reader.Time("received_at"),
        UpdatedAt = reader.Time("updated_at"),
    };
}

internal sealed class SubmissionStore(Database database, SubmissionWriter writer, PersonalData personalData, TimeProvider time)
{
    private const string Columns = "id, account, tool, key_name, form, content_type, body, status, problem, lead_id, received_at, updated_at";

    // The raw body as base64 inside the seal: a body that is not UTF-8 is kept byte for byte too.
    // The raw body as base64 inside the seal: a body that is not UTF-8 is kept byte for byte too. Sealed on the caller's
    // thread; the group commit's one writer only writes.
    public Task<long> AddAsync(string account, string tool, string? keyName, string? form, string? contentType, byte[] body, string status, string? problem)
    {
        var now = time.GetUtcNow();
        return writer.RunAsync("""
            INSERT INTO submissions (account, tool, key_name, form, content_type, body, status, problem, lead_id, received_at, updated_at)
            VALUES (@account, @tool, @key_name, @form, @content_type, @body, @status, @problem, NULL, @now, @now)
            RETURNING id
            """,
            [("account", account), ("tool", tool), ("key_name", keyName), ("form", form), ("content_type", contentType),
             ("body", personalData.Seal(Convert.ToBase64String(body))), ("status", status), ("problem", problem), ("now", now)],
            returnsId: true);
    }

    public Task SetOutcomeAsync(long id, string status, string? problem, long? leadId, string? form) =>
        writer.RunAsync(
            "UPDATE submissions SET status = @status, problem = @problem, lead_id = @lead_id, form = COALESCE(@form, form), updated_at = @now WHERE id = @id",
            [("id", id), ("status", status), ("problem", problem), ("lead_id", leadId), ("form", form), ("now", time.GetUtcNow())],
            returnsId: false);

    public async Task<SubmissionRow?> GetAsync(string account, long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QuerySingleOrDefaultAsync(connection, $"SELECT {Columns} FROM submissions WHERE id = @id AND account = @account", null,
            [("id", id), ("account", account)], SubmissionRow.Read, cancellationToken);
    }

    // The submission a lead was made from (the newest, if a replay made it again); null for a lead sent to the JSON API.
    public async Task<SubmissionRow?> FindByLeadAsync(string account, long leadId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QuerySingleOrDefaultAsync(connection, $"SELECT {Columns} FROM submissions WHERE account = @account AND lead_id = @lead ORDER BY id DESC LIMIT 1", null,
            [("account", account), ("lead", leadId)], SubmissionRow.Read, cancellationToken);
    }

    public async Task<List<SubmissionRow>> ListAsync(string account, string? status, long after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(connection, $"""
            SELECT {Columns} FROM submissions
            WHERE account = @account AND (@status IS NULL OR status = @status) AND id > @after
            ORDER BY id LIMIT @limit
            """, null, [("account", account), ("status", status), ("after", after), ("limit", limit)], SubmissionRow.Read, cancellationToken);
    }

    // Null when the body cannot be opened (the key ring changed).
    public byte[]? OpenBody(SubmissionRow row) =>
        personalData.TryOpen(row.Body, out var text, out _) && text is not null ? Convert.FromBase64String(text) : null;
}
