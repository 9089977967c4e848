using System.Data.Common;

namespace Gateway.Data;

// A small table an admin edits through the API (added accounts, console keys, form profiles), held in memory as what
// its rows become and re-read at most once a second on its callers' path, in the background: every instance sees a
// change made on another within about a second, and a database that is away for a moment leaves the rows in hand in use.
// Select: "key, text, updated_at" in a stable order; the keys and times (with Extra, for what else the rows depend on)
// tell whether anything changed, so unchanged rows are not parsed again.
internal sealed class StoredRows<T> : IDisposable
    where T : class
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly Database database;
    private readonly string select;
    private readonly string what;
    private readonly Func<IReadOnlyList<(string Key, string Text)>, T> build;
    private readonly Func<string>? extra;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly SemaphoreSlim loading = new(1, 1);

    private volatile T current;
    private string signature = "";
    // No re-read before the start-up load: the table is there only once the schema is migrated (and decrypting an
    // account needs the key ring, which start-up checks first).
    private long nextRefresh = long.MaxValue;
    private int refreshing;

    public StoredRows(Database database, string select, string what, T empty, Func<IReadOnlyList<(string Key, string Text)>, T> build, TimeProvider time, ILogger logger, Func<string>? extra = null)
    {
        this.database = database;
        this.select = select;
        this.what = what;
        this.build = build;
        this.extra = extra;
        this.time = time;
        this.logger = logger;
        current = empty;
    }

    public T Current
    {
        get
        {
            if (time.GetTimestamp() >= Interlocked.Read(ref nextRefresh) && Interlocked.CompareExchange(ref refreshing, 1, 0) == 0)
            {
                _ = RefreshInBackgroundAsync();
            }

            return current;
        }
    }

    public void Dispose() => loading.Dispose();

    // At start-up, after every change made here, then whenever a caller finds the rows a second old.
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await loading.WaitAsync(cancellationToken);
        try
        {
            List<(string Key, string Text, long UpdatedAt)> rows;
            await using (var connection = await database.OpenAsync(cancellationToken))
            {
                rows = await Sql.QueryAsync(connection, select, null, [], r => (r.GetString(0), r.GetString(1), r.GetInt64(2)), cancellationToken);
            }

            var seen = extra?.Invoke() + "|" + string.Join(";", rows.Select(r => $"{r.Key}:{r.UpdatedAt}"));
            if (seen != signature)
            {
                current = build([.. rows.Select(r => (r.Key, r.Text))]);
                signature = seen;
            }
        }
        finally
        {
            Interlocked.Exchange(ref nextRefresh, time.GetTimestamp() + (long)(RefreshInterval.TotalSeconds * time.TimestampFrequency));
            loading.Release();
        }
    }

    private async Task RefreshInBackgroundAsync()
    {
        try
        {
            await LoadAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or TimeoutException)
        {
            StoredRowsLog.RefreshFailed(logger, what, ex.GetType().Name);
        }
        finally
        {
            Volatile.Write(ref refreshing, 0);
        }
    }
}

internal static partial class StoredRowsLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "{What} stored in the database could not be re-read ({Error}); the ones in use stay in use")]
    public static partial void RefreshFailed(ILogger logger, string what, string error);
}
