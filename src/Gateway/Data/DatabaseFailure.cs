using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Gateway.Data;

// Why the database could not be opened at start-up, as the one line an operator reads: what failed and what to change.
// It names the server, the database and the user, never DATABASE_URL itself (its password).
internal static class DatabaseFailure
{
    public static string? Describe(Exception exception, Database database, string? postgresConnectionString) => database.IsPostgres
        ? Postgres(exception, new NpgsqlConnectionStringBuilder(postgresConnectionString))
        : Sqlite(exception, database.FilePath!);

    private static string? Postgres(Exception exception, NpgsqlConnectionStringBuilder settings)
    {
        var server = $"PostgreSQL at {settings.Host}:{settings.Port}";
        var database = settings.Database ?? settings.Username ?? "postgres";
        var user = settings.Username ?? Environment.UserName;
        return exception switch
        {
            PostgresException { SqlState: PostgresErrorCodes.InvalidPassword } =>
                $"{server} refused user {user}: wrong password; correct the password in DATABASE_URL",
            PostgresException { SqlState: PostgresErrorCodes.InvalidAuthorizationSpecification } pg =>
                $"{server} does not let user {user} in ({pg.MessageText}); correct the user in DATABASE_URL, or allow it in pg_hba.conf",
            PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } =>
                $"{server} has no database {database}; create it (createdb -O {user} {database}) or correct the database in DATABASE_URL",
            PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } pg =>
                $"{server}: user {user} may not create the gateway's tables in database {database} ({pg.MessageText}); make it the database's owner or grant it CREATE",
            PostgresException { SqlState: PostgresErrorCodes.TooManyConnections } =>
                $"{server} has no free connection (max_connections reached); raise max_connections, or lower Maximum Pool Size in DATABASE_URL",
            PostgresException { SqlState: PostgresErrorCodes.CannotConnectNow } =>
                $"{server} is starting up or shutting down; start the gateway again once it accepts connections",
            PostgresException pg =>
                $"{server}, database {database}, answered {pg.SqlState}: {pg.MessageText}",
            NpgsqlException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } } =>
                $"{server} refused the connection; is PostgreSQL running there, and are the host and port in DATABASE_URL right?",
            NpgsqlException { InnerException: SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData } } =>
                $"{server}: the host name {settings.Host} cannot be resolved; correct the host in DATABASE_URL",
            NpgsqlException { InnerException: SocketException socket } =>
                $"{server} cannot be reached ({socket.Message}); check the host and port in DATABASE_URL and the network between",
            NpgsqlException { InnerException: TimeoutException } =>
                $"{server} did not answer within {settings.Timeout} s; check the host and port in DATABASE_URL and any firewall between",
            NpgsqlException { InnerException: AuthenticationException tls } =>
                $"{server}: the TLS handshake failed ({tls.Message}); check sslmode in DATABASE_URL and the server's certificate",
            NpgsqlException npgsql =>
                $"{server}, database {database}: {npgsql.Message}",
            _ => null,
        };
    }

    private static string? Sqlite(Exception exception, string file) => exception switch
    {
        SqliteException sqlite => (sqlite.SqliteErrorCode & 0xFF) switch
        {
            SQLitePCL.raw.SQLITE_NOTADB or SQLitePCL.raw.SQLITE_CORRUPT =>
                $"{file} is not a usable SQLite database (damaged, or another kind of file); restore it from a backup, or move it away to start with an empty one",
            SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_PERM =>
                $"{file} cannot be opened for writing ({sqlite.Message}); make it and DATA_DIR writable by the gateway's user ({Environment.UserName})",
            SQLitePCL.raw.SQLITE_FULL =>
                $"{file}: the disk is full; free some space",
            SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED =>
                $"{file} stayed locked by another program for longer than 10 s; stop it, or give this gateway its own DATA_DIR",
            _ => $"{file}: {sqlite.Message}",
        },
        _ => null,
    };
}
