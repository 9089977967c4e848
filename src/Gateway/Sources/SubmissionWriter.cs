using System.Data.Common;
using Gateway.Data;

namespace Gateway.Sources;

// Group commit for submissions, as the outbox's IntakeWriter does for leads: every submission is stored before it is
// answered, and under a burst concurrent ones share one transaction (one fsync) instead of two each.
internal sealed partial class SubmissionWriter(Database database, ILogger<SubmissionWriter> logger) : GroupCommit<SubmissionWriter.Statement, long>
{
    public Task<long> RunAsync(string sql, IReadOnlyList<SqlArg> parameters, bool returnsId) => EnqueueAsync(new Statement(sql, parameters, returnsId));

    protected override async Task<IReadOnlyList<long>> WriteGroupAsync(IReadOnlyList<Statement> items)
    {
        var results = new long[items.Count];
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
        for (var i = 0; i < items.Count; i++)
        {
            results[i] = await RunOneAsync(connection, transaction, items[i]);
        }

        await transaction.CommitAsync(CancellationToken.None);
        return results;
    }

    protected override void GroupFailed(Exception exception, int count) => LogWriteFailed(exception, count);

    private static async Task<long> RunOneAsync(DbConnection connection, DbTransaction transaction, Statement item) =>
        item.ReturnsId
            ? await Sql.ScalarInt64Async(connection, item.Sql, transaction, item.Parameters, CancellationToken.None) ?? throw new InvalidOperationException("The insert returned no id")
            : await Sql.ExecuteAsync(connection, item.Sql, transaction, item.Parameters, CancellationToken.None);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not store {Count} form submissions")]
    private partial void LogWriteFailed(Exception exception, int count);

    internal sealed record Statement(string Sql, IReadOnlyList<SqlArg> Parameters, bool ReturnsId);
}
