using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Gateway.Tests.Infrastructure;

// One suite, two databases: Gateway.Tests runs it on SQLite, Gateway.Tests.Postgres compiles the same files with
// POSTGRES defined and runs it on PostgreSQL, one schema per data directory (so a restart finds its data again).
internal static class TestDatabase
{
#if POSTGRES
    public static bool IsPostgres { get; } = true;
#else
    public static bool IsPostgres { get; }
#endif

    public const string ServerVariable = "GATEWAY_TEST_POSTGRES";

    private const string DefaultServer = "Host=127.0.0.1;Port=5432;Username=gateway;Password=gateway;Database=gateway_test";

    private static readonly Lazy<string> Server = new(PrepareServer);

    // Schemas carry the run's id, so two runs against one server (two developers, two terminals) never touch each other's.
    private static readonly string RunId = Guid.NewGuid().ToString("N")[..8];

    // The settings that point a gateway with this data directory at its database; none for SQLite (it lives in DATA_DIR).
    public static IReadOnlyDictionary<string, string?> SettingsFor(string dataDir)
    {
        if (!IsPostgres)
        {
            return new Dictionary<string, string?>();
        }

        var schema = $"t_{RunId}_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataDir))))[..16];
        using (var connection = new NpgsqlConnection(Server.Value))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE SCHEMA IF NOT EXISTS {schema}", connection);
            command.ExecuteNonQuery();
        }

        return new Dictionary<string, string?> { ["DATABASE_URL"] = new NpgsqlConnectionStringBuilder(Server.Value) { SearchPath = schema }.ConnectionString };
    }

    // Everything the database holds, as stored: the SQLite files byte for byte, or every PostgreSQL row as text.
    public static async Task<IReadOnlyList<string>> RawContentsAsync(GatewayApp app)
    {
        if (!IsPostgres)
        {
            return Directory.EnumerateFiles(app.DataDir, "gateway.db*").Select(File.ReadAllBytes).Select(Encoding.Latin1.GetString).ToList();
        }

        await using var connection = await app.Get<Gateway.Data.Database>().OpenAsync(CancellationToken.None);
        var rows = new List<string>();
        foreach (var table in new[] { "amo_tokens", "oauth_states", "leads", "stored_accounts", "stored_api_keys" })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT row_to_json(t)::text FROM {table} t";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetString(0));
            }
        }

        return rows;
    }

    // In CI a missing server is a failure with the reason, never a silent skip.
    private static string PrepareServer()
    {
        var server = Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } configured ? configured : DefaultServer;
        try
        {
            using var connection = new NpgsqlConnection(server);
            connection.Open();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"The PostgreSQL half of the suite needs a server: set {ServerVariable} to an Npgsql connection string of a user who may create schemas " +
                $"(default {DefaultServer}); .ci/run shows how to start one. {ex.Message}", ex);
        }

        DropSchemasOfEndedRuns(server);
        return server;
    }

    // A run holds an advisory lock named after its id for as long as its process lives (this connection is never closed);
    // a run whose lock can be taken has ended, and its schemas go. Two runs side by side never touch each other's.
    private static NpgsqlConnection? runLock;

    private static void DropSchemasOfEndedRuns(string server)
    {
        runLock = new NpgsqlConnection(server);
        runLock.Open();
        using (var mine = new NpgsqlCommand($"SELECT pg_advisory_lock(hashtext('gateway-tests-{RunId}'))", runLock))
        {
            mine.ExecuteNonQuery();
        }

        var runs = new List<string>();
        using (var list = new NpgsqlCommand("SELECT DISTINCT substring(nspname from 3 for 8) FROM pg_namespace WHERE nspname ~ '^t_[0-9a-f]{8}_'", runLock))
        using (var reader = list.ExecuteReader())
        {
            while (reader.Read())
            {
                runs.Add(reader.GetString(0));
            }
        }

        foreach (var run in runs.Where(r => r != RunId))
        {
            using var probe = new NpgsqlCommand($"SELECT pg_try_advisory_lock(hashtext('gateway-tests-{run}'))", runLock);
            if (probe.ExecuteScalar() is not true)
            {
                continue;
            }

            var schemas = new List<string>();
            using (var list = new NpgsqlCommand($"SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_{run}\\_%'", runLock))
            using (var reader = list.ExecuteReader())
            {
                while (reader.Read())
                {
                    schemas.Add(reader.GetString(0));
                }
            }

            foreach (var schema in schemas)
            {
                using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", runLock);
                drop.ExecuteNonQuery();
            }

            using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock(hashtext('gateway-tests-{run}'))", runLock);
            unlock.ExecuteNonQuery();
        }
    }
}
