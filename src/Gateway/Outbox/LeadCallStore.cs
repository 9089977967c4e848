using System.Data.Common;
using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Data;
using Gateway.Security;

namespace Gateway.Outbox;

internal static class LeadCallStep
{
    public const string Lead = "lead";
    public const string Note = "note";

    // Lead mode's contact step: the cached contact read, the search, the appended phone or email, the open lead looked for.
    public const string Contact = "contact";

    // The follow-up task (FollowUpTaskSender): a look for one whose answer was lost, and the create.
    public const string Task = "task";
}

// One amoCRM call as one lead saw it (a batch call is one row per lead in it). Body: the item sent for this lead, sealed.
internal sealed record LeadCall(long LeadId, string Step, DateTimeOffset At, string Method, string Path, int? HttpStatus, long DurationMs, string Outcome, string? Error, string? Body);

internal sealed record LeadCallRow(long Id, string Step, DateTimeOffset At, string Method, string Path, int? HttpStatus, long DurationMs, string Outcome, string? Error, string? Body)
{
    public static LeadCallRow Read(DbDataReader reader) => new(
        reader.Int64("id"), reader.String("step"), reader.Time("at"), reader.String("method"), reader.String("path"),
        reader.Int64OrNull("http_status") is { } status ? (int)status : null, reader.Int64("duration_ms"), reader.String("outcome"),
        reader.StringOrNull("error"), reader.StringOrNull("body"));
}

// Every amoCRM call made for a lead, for its trace in the console: the last KeepPerLead per lead, oldest dropped first.
// Only ids, times, statuses and amoCRM's error titles and details are kept in the clear; what was sent is sealed.
internal sealed partial class LeadCallStore(Database database, PersonalData personalData, TimeProvider time, ILogger<LeadCallStore> logger)
{
    public const int KeepPerLead = 20;

    // A lead makes at most a handful of calls per attempt (lead mode's contact step and create, its look after a lost
    // answer): until its second retry it cannot reach KeepPerLead, so only from then is its trace cut on each write.
    // Cutting every batch's fifty leads on every write cost the ten-account drain a third of its speed.
    public const long BoundFromAttempts = 2;

    // The trace is a view: a failure to record it must never hold up or fail a delivery. Bound: the leads (retried often
    // enough, see BoundFromAttempts) whose calls beyond the last KeepPerLead are dropped in the same transaction.
    public async Task RecordAsync(string account, IReadOnlyList<LeadCall> calls, IReadOnlyCollection<long>? bound = null)
    {
        if (calls.Count == 0)
        {
            return;
        }

        try
        {
            await using var connection = await database.OpenWriterAsync(CancellationToken.None);
            await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
            // Ten parameters a row (l…b below; the account is shared).
            var insertChunk = Sql.RowsPerStatement(connection, 10);
            for (var offset = 0; offset < calls.Count; offset += insertChunk)
            {
                var chunk = calls.Skip(offset).Take(insertChunk).ToList();
                List<SqlArg> parameters = [("account", account)];
                var values = new List<string>(chunk.Count);
                for (var n = 0; n < chunk.Count; n++)
                {
                    var call = chunk[n];
                    values.Add($"(@account, @l{n}, @s{n}, @t{n}, @m{n}, @p{n}, @h{n}, @d{n}, @o{n}, @e{n}, @b{n})");
                    parameters.AddRange(
                    [
                        ($"l{n}", call.LeadId), ($"s{n}", call.Step), ($"t{n}", call.At), ($"m{n}", call.Method), ($"p{n}", call.Path),
                        ($"h{n}", (long?)call.HttpStatus), ($"d{n}", call.DurationMs), ($"o{n}", call.Outcome), ($"e{n}", call.Error),
                        ($"b{n}", personalData.SealOrNull(call.Body)),
                    ]);
                }

                await Sql.ExecuteAsync(
                    connection,
                    $"INSERT INTO lead_calls (account, lead_id, step, at, method, path, http_status, duration_ms, outcome, error, body) VALUES {string.Join(", ", values)}",
                    transaction,
                    parameters,
                    CancellationToken.None);
            }

            // Bounded: a lead retried for days keeps its last calls, not all of them.
            if (bound is { Count: > 0 })
            {
                await BoundAsync(connection, transaction, account, bound);
            }

            await transaction.CommitAsync(CancellationToken.None);
        }
        catch (DbException ex)
        {
            LogRecordFailed(ex, account, calls.Count);
        }
    }

    private static async Task BoundAsync(DbConnection connection, DbTransaction transaction, string account, IReadOnlyCollection<long> bound)
    {
        var ids = Sql.IdList(bound.Distinct());
        await Sql.ExecuteAsync(
            connection,
            $"""
            DELETE FROM lead_calls WHERE account = @account AND lead_id IN ({ids}) AND id NOT IN (
                SELECT id FROM (
                    SELECT id, ROW_NUMBER() OVER (PARTITION BY lead_id ORDER BY id DESC) AS n
                    FROM lead_calls WHERE account = @account AND lead_id IN ({ids})) AS ranked
                WHERE n <= @keep)
            """,
            transaction,
            [("account", account), ("keep", KeepPerLead)],
            CancellationToken.None);
    }

    // The calls of leads that are gone (pruned by LeadStore.PruneDeliveredAsync, in the same transaction).
    public static async Task ForgetAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<(string Account, long Id)> leads, CancellationToken cancellationToken)
    {
        foreach (var group in leads.GroupBy(l => l.Account))
        {
            var ids = Sql.IdList(group.Select(l => l.Id));
            await Sql.ExecuteAsync(connection, $"DELETE FROM lead_calls WHERE account = @account AND lead_id IN ({ids})", transaction, [("account", group.Key)], cancellationToken);
        }
    }

    // One amoCRM call made for several leads (a batch, or a lead's own step), timed and written to their traces before
    // its outcome is settled: whoever the settlement wakes then finds the call in the trace. Each lead's row holds
    // amoCRM's words about its item (RequestId names it in a batch's validation errors) and the item sent for it, if
    // any. Call gets the path; T is AmoResult, or AmoResult? where null means nothing went out; that and a call withdrawn
    // before it went out are not calls.
    public async Task<T> TracedAsync<T>(
        string account, IReadOnlyList<(long LeadId, string RequestId, string? Body)> leads, string step, string method, string path, Func<string, Task<T>> call, IReadOnlyCollection<long>? bound = null)
    {
        var (at, started) = (time.GetUtcNow(), time.GetTimestamp());
        var result = await call(path);
        if (result is AmoResult answered)
        {
            await RecordAsync(account, leads, step, method, path, answered, at, time.GetElapsedTime(started), bound);
        }

        return result;
    }

    private Task RecordAsync(string account, IReadOnlyList<(long LeadId, string RequestId, string? Body)> leads, string step, string method, string path, AmoResult result, DateTimeOffset at, TimeSpan took, IReadOnlyCollection<long>? bound)
    {
        if (result.Failure == AmoFailure.Withdrawn)
        {
            return Task.CompletedTask;
        }

        List<LeadCall> calls;
        try
        {
            var shown = TracePath(path);
            calls = [.. leads.Select(l => new LeadCall(
                l.LeadId, step, at, method, shown, result.HttpStatus, (long)took.TotalMilliseconds, result.Failure.ToString(), ErrorOf(result, l.RequestId, leads.Count == 1), l.Body))];
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            // An answer of a shape the trace does not read (ErrorOf) must not fail the delivery it describes.
            LogRecordFailed(ex, account, leads.Count);
            return Task.CompletedTask;
        }

        return RecordAsync(account, calls, bound);
    }

    // The path as the trace shows it: a contacts search's query is the customer's phone or email, so it is never kept.
    public static string TracePath(string path)
    {
        var shown = path.StartsWith('/') ? path : "/" + path;
        var question = shown.IndexOf('?', StringComparison.Ordinal);
        if (question < 0)
        {
            return shown;
        }

        var parameters = shown[(question + 1)..].Split('&').Select(p => p.StartsWith("query=", StringComparison.Ordinal) ? "query=…" : p);
        return shown[..question] + "?" + string.Join('&', parameters);
    }

    // Oldest first; bodies opened (null when the key ring no longer opens them).
    public async Task<IReadOnlyList<LeadCallRow>> ListAsync(string account, long leadId, CancellationToken cancellationToken)
    {
        IReadOnlyList<LeadCallRow> rows;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            rows = await Sql.QueryAsync(
                connection,
                "SELECT id, step, at, method, path, http_status, duration_ms, outcome, error, body FROM lead_calls WHERE account = @account AND lead_id = @lead ORDER BY id",
                null,
                [("account", account), ("lead", leadId)],
                LeadCallRow.Read,
                cancellationToken);
        }

        return rows.Select(r => r with { Body = personalData.TryOpen(r.Body, out var body, out _) ? body : null }).ToList();
    }

    // amoCRM's words about one item of a batch: the answer's title and detail, and the item's own validation errors
    // (code, path, detail) when amoCRM named it by its request_id, or all of them when it was the only item sent (as
    // Settlement reads a lone item's refusal). Never a value that was sent.
    public static string? ErrorOf(AmoResult result, string requestId, bool onlyItem)
    {
        var items = ((result.Body as JsonObject)?["validation-errors"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Where(e => onlyItem || AmoJson.Text(e["request_id"]) == requestId);
        var details = items.SelectMany(item => item["errors"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(e => string.Join(" ", new[] { AmoJson.Text(e["path"]), AmoJson.Text(e["detail"]), AmoJson.Text(e["code"]) is { } code ? "(" + code + ")" : null }.Where(s => s is { Length: > 0 })))
            .Where(s => s.Length > 0)
            .ToList();
        if (result.Ok && details.Count == 0)
        {
            return null;
        }

        var text = details.Count > 0 ? result.Description + " — " + string.Join("; ", details) : result.Description;
        return text.Length > 2000 ? text[..2000] : text;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record {Count} amoCRM calls of {Account} for the leads' traces")]
    private partial void LogRecordFailed(Exception exception, string account, int count);
}
