using System.Data.Common;
using Gateway.Configuration;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Gateway.Data;

// One place that opens connections; SQL lives with the feature that owns each table.
internal sealed class Database
{
    private readonly string connectionString;

    static Database()
    {
        // Columns are snake_case, properties PascalCase: one mapping rule for every store.
        Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    public Database(IOptions<GatewayOptions> options)
    {
        var dataDir = options.Value.DataDirFullPath;
        DataDirectory.Ensure(dataDir);
        FilePath = Path.Combine(dataDir, "gateway.db");
        Gateway.Security.OwnerOnlyFiles.PrepareSqlite(FilePath);
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string FilePath { get; }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        using var pragma = connection.CreateCommand();
        // busy_timeout lets several processes share the file; FULL makes a commit survive power loss, not just kill -9.
        pragma.CommandText = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }
}

internal static class DataDirectory
{
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
