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

    public static string Name => IsPostgres ? "postgresql" : "sqlite";

    // The settings that point a gateway with this data directory at its database; none for SQLite (it lives in DATA_DIR).
    public static IReadOnlyDictionary<string, string?> SettingsFor(string dataDir)
    {
        if (!IsPostgres)
        {
            return new Dictionary<string, string?>();
        }

        var schema = "t_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataDir))))[..20];
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
        foreach (var table in new[] { "amo_tokens", "oauth_states", "leads" })
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

            // Schemas of earlier runs go, so a developer's database does not grow with every run.
            using var list = new NpgsqlCommand("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'", connection);
            var old = new List<string>();
            using (var reader = list.ExecuteReader())
            {
                while (reader.Read())
                {
                    old.Add(reader.GetString(0));
                }
            }

            foreach (var schema in old)
            {
                using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
                drop.ExecuteNonQuery();
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"The PostgreSQL half of the suite needs a server: set {ServerVariable} to an Npgsql connection string of a user who may create schemas " +
                $"(default {DefaultServer}); .ci/run shows how to start one. {ex.Message}", ex);
        }

        return server;
    }
}
