using Dapper;

namespace Gateway.Data;

// Versioned migrations, applied in order inside one write transaction so that concurrent starters serialise.
internal sealed class Schema(Database database)
{
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE amo_tokens (
            account TEXT PRIMARY KEY,
            access_token TEXT NOT NULL,
            refresh_token TEXT NULL,
            expires_at INTEGER NOT NULL,
            base_domain TEXT NULL,
            long_lived INTEGER NOT NULL DEFAULT 0,
            generation INTEGER NOT NULL,
            refresh_token_issued_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            state TEXT NOT NULL,
            state_reason TEXT NULL,
            last_refresh_at INTEGER NULL,
            last_refresh_outcome TEXT NULL,
            refresh_started_at INTEGER NULL,
            next_refresh_attempt_at INTEGER NULL,
            failed_refreshes INTEGER NOT NULL DEFAULT 0,
            imported_file_mtime INTEGER NULL
        );
        CREATE TABLE oauth_states (
            state TEXT PRIMARY KEY,
            account TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        );
        """,
    ];

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("PRAGMA journal_mode = WAL;");
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The first write takes SQLite's write lock, so a second starting process waits here instead of racing.
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", transaction: transaction);
        var current = await connection.ExecuteScalarAsync<long?>("SELECT MAX(version) FROM schema_version", transaction: transaction) ?? 0;
        for (var version = (int)current; version < Migrations.Length; version++)
        {
            await connection.ExecuteAsync(Migrations[version], transaction: transaction);
            await connection.ExecuteAsync("INSERT INTO schema_version (version) VALUES (@v)", new { v = version + 1 }, transaction);
        }

        await transaction.CommitAsync(cancellationToken);
        DataDirectory.RestrictFile(database.FilePath);
    }
}
