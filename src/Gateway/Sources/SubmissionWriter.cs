using System.Data.Common;
using System.Threading.Channels;
using Gateway.Data;

namespace Gateway.Sources;

// Group commit for submissions, as the outbox's IntakeWriter does for leads: every submission is stored before it is
// answered, and under a burst concurrent ones share one transaction (one fsync) instead of two each.
internal sealed partial class SubmissionWriter(Database database, ILogger<SubmissionWriter> logger) : BackgroundService
{
    private const int MaxGroup = 500;

    private readonly Channel<Pending> pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    public Task<long> RunAsync(string sql, IReadOnlyList<SqlArg> parameters, bool returnsId)
    {
        var item = new Pending(sql, parameters, returnsId, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!pending.Writer.TryWrite(item))
        {
            item.Completion.SetException(new InvalidOperationException("The gateway is shutting down"));
        }

        return item.Completion.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var group = new List<Pending>(MaxGroup);
        try
        {
            while (await pending.Reader.WaitToReadAsync(stoppingToken))
            {
                await WriteGroupAsync(group);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // What arrived before the stop is still written: a submission being answered is not dropped on shutdown.
            pending.Writer.TryComplete();
            await WriteGroupAsync(group);
        }
    }

    private async Task WriteGroupAsync(List<Pending> group)
    {
        while (true)
        {
            group.Clear();
            while (group.Count < MaxGroup && pending.Reader.TryRead(out var next))
            {
                group.Add(next);
            }

            if (group.Count == 0)
            {
                return;
            }

            try
            {
                var results = new long[group.Count];
                await using (var connection = await database.OpenAsync(CancellationToken.None))
                await using (var transaction = await connection.BeginTransactionAsync(CancellationToken.None))
                {
                    for (var i = 0; i < group.Count; i++)
                    {
                        results[i] = await RunOneAsync(connection, transaction, group[i]);
                    }

                    await transaction.CommitAsync(CancellationToken.None);
                }

                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Completion.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                LogWriteFailed(ex, group.Count);
                foreach (var item in group)
                {
                    item.Completion.TrySetException(ex);
                }
            }
        }
    }

    private static async Task<long> RunOneAsync(DbConnection connection, DbTransaction transaction, Pending item) =>
        item.ReturnsId
            ? await Sql.ScalarInt64Async(connection, item.Sql, transaction, item.Parameters, CancellationToken.None) ?? throw new InvalidOperationException("The insert returned no id")
            : await Sql.ExecuteAsync(connection, item.Sql, transaction, item.Parameters, CancellationToken.None);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not store {Count} form submissions")]
    private partial void LogWriteFailed(Exception exception, int count);

    private sealed record Pending(string Sql, IReadOnlyList<SqlArg> Parameters, bool ReturnsId, TaskCompletionSource<long> Completion);
}
