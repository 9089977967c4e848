using System.Data.Common;
using Gateway.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Gateway.Data;

// One place that opens connections; SQL lives with the feature that owns each table and asks here for the few
// words the two dialects spell differently.
internal sealed class Database : IAsyncDisposable
{
    private readonly string? sqliteConnectionString;
    private readonly NpgsqlDataSource? postgres;
    private readonly NpgsqlDataSource? listener;

    // SQLite has one writer. Writers that meet its lock wait in its busy handler, which sleeps 1, 2, 5 … 100 ms between
    // looks: under ten accounts' drains some writers kept sleeping while others took the lock again and again, so one
    // account finished in 2.9 s and another in 4.8. The outbox's writers queue here instead, in order and without sleeps.
    private readonly SemaphoreSlim sqliteWriter = new(1, 1);

    public Database(IOptions<GatewayOptions> options, IOptions<DatabaseOptions> database)
    {
        var dataDir = options.Value.DataDirFullPath;
        DataDirectory.Prepare(dataDir);
        Kind = database.Value.Kind;
        if (Kind == DatabaseKind.Postgres)
        {
            var connectionString = database.Value.PostgresConnectionString!;
            postgres = SlimDataSource(connectionString);
            // A connection that stays open to hear NOTIFY: outside the pool and never multiplexed (LISTEN belongs to one
            // session), with a keepalive query every 30 s so a vanished server is noticed.
            listener = SlimDataSource(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Multiplexing = false, KeepAlive = 30 }.ConnectionString);
            FilePath = null;
            return;
        }

        FilePath = Path.Combine(dataDir, "gateway.db");
        OwnerOnlyFiles.PrepareSqlite(FilePath);
        sqliteConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public DatabaseKind Kind { get; }

    public bool IsPostgres => Kind == DatabaseKind.Postgres;

    // The SQLite file; null on PostgreSQL.
    public string? FilePath { get; }

    public string Name => IsPostgres ? "postgresql" : "sqlite";

    // Claims skip rows another instance is claiming right now; SQLite has one writer, so nothing to skip.
    public string SkipLocked => IsPostgres ? " FOR UPDATE SKIP LOCKED" : "";

    // Wall-clock milliseconds from the database itself: one clock for every instance, however theirs drift.
    public string NowMilliseconds => IsPostgres
        ? "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
        : "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (postgres is not null)
        {
            return await postgres.OpenConnectionAsync(cancellationToken);
        }

        return await OpenSqliteAsync(new SqliteConnection(sqliteConnectionString), cancellationToken);
    }

    // A connection for a write on the delivery and intake paths: on SQLite it holds the process's writer turn until it is
    // disposed, so it must not be held while opening another writer. PostgreSQL: OpenAsync (its writers run side by side).
    public async Task<DbConnection> OpenWriterAsync(CancellationToken cancellationToken)
    {
        if (postgres is not null)
        {
            return await OpenAsync(cancellationToken);
        }

        await sqliteWriter.WaitAsync(cancellationToken);
        WriterConnection connection;
        try
        {
            connection = new WriterConnection(sqliteConnectionString!, sqliteWriter);
        }
        catch
        {
            sqliteWriter.Release();
            throw;
        }

        // Disposed on a failed open, which gives the turn back.
        return await OpenSqliteAsync(connection, cancellationToken);
    }

    private static async Task<DbConnection> OpenSqliteAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await connection.OpenAsync(cancellationToken);
            using var pragma = connection.CreateCommand();
            // busy_timeout lets several processes share the file; FULL makes a commit survive power loss, not just kill -9.
            pragma.CommandText = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task<NpgsqlConnection> OpenListenerAsync(CancellationToken cancellationToken) =>
        await (listener ?? throw new InvalidOperationException("NOTIFY exists only on PostgreSQL")).OpenConnectionAsync(cancellationToken);

    // Data Protection's key repository is synchronous, and the database holds the key ring only on PostgreSQL.
    public DbConnection OpenPostgres() => postgres?.OpenConnection() ?? throw new InvalidOperationException("The key ring lives in the database only with PostgreSQL");

    // Gives the writer turn back when disposed, once.
    private sealed class WriterConnection(string connectionString, SemaphoreSlim turn) : SqliteConnection(connectionString)
    {
        private int released;

        public override async ValueTask DisposeAsync()
        {
            try
            {
                await base.DisposeAsync();
            }
            finally
            {
                Release();
            }
        }

        protected override void Dispose(bool disposing)
        {
            try
            {
                base.Dispose(disposing);
            }
            finally
            {
                Release();
            }
        }

        private void Release()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                turn.Release();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (postgres is not null)
        {
            await postgres.DisposeAsync();
        }

        if (listener is not null)
        {
            await listener.DisposeAsync();
        }
    }

    // Only what the gateway uses, so a native build carries no mapping it never needs: the slim builder's built-in
    // types (text, int4, int8, bool: every column is one of these) and TLS for sslmode=require. LISTEN/NOTIFY needs
    // nothing extra; arrays, JSON, ranges, records and GSS/Kerberos stay out.
    private static NpgsqlDataSource SlimDataSource(string connectionString) =>
        new NpgsqlSlimDataSourceBuilder(connectionString).EnableTransportSecurity().Build();
}

internal static class DataDirectory
{
    // Before anything is stored: a DATA_DIR that cannot be written stops start-up with one line naming it.
    public static void Prepare(string path)
    {
        try
        {
            Ensure(path);
            var probe = Path.Combine(path, $".write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var reason = ex switch
            {
                UnauthorizedAccessException => "permission denied",
                _ when File.Exists(path) => "it is a file, not a directory",
                DirectoryNotFoundException => "a part of its path is a file or cannot be created",
                _ => ex.Message,
            };
            throw new StartupProblemException(
                $"DATA_DIR {path} cannot be used ({reason}): make it a directory that the gateway's user ({Environment.UserName}) owns and can write, or point DATA_DIR elsewhere", ex);
        }
    }

    // Tokens and the key ring live here: owner-only, whatever the umask says.
    public static void Ensure(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public static void RestrictFile(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path))
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
