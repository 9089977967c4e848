using System.Security.Cryptography;
using System.Text;
using Gateway.Data;

namespace Gateway.Amo.Consent;

// Who started a consent: the admin's name, and the hash of the browser nonce when it was started in a browser.
internal sealed record ConsentState(string Account, string? Admin, string? BrowserHash);

// Consent states live in the database: single use, 20 minutes, valid on any instance and across restarts.
// At most MaxLivePerAccount per account: a new one drops the oldest, so even an admin's script in a loop stays bounded.
internal sealed class OAuthStateStore(Database database, TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(20);

    public const int MaxLivePerAccount = 20;

    public static string HashNonce(string nonce) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(nonce)));

    public async Task<string> CreateAsync(string account, string? admin, string? browserHash, CancellationToken cancellationToken)
    {
        var state = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (database.IsPostgres)
        {
            // One writer per account at a time, so two concurrent starts cannot both keep the cap's last place.
            await Sql.ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(7306, hashtext(@account))", transaction, [("account", account)], cancellationToken);
        }

        await Sql.ExecuteAsync(connection, "DELETE FROM oauth_states WHERE expires_at <= @now", transaction, [("now", now)], cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            "INSERT INTO oauth_states (state, account, expires_at, admin, browser_hash) VALUES (@state, @account, @expires, @admin, @browser)",
            transaction,
            [("state", state), ("account", account), ("expires", now + Lifetime), ("admin", admin), ("browser", browserHash)],
            cancellationToken);

        // The new state always stays (states made in the same millisecond tie on expires_at); the oldest others go.
        await Sql.ExecuteAsync(
            connection,
            """
            DELETE FROM oauth_states WHERE account = @account AND state <> @state AND state NOT IN (
                SELECT state FROM oauth_states WHERE account = @account AND state <> @state ORDER BY expires_at DESC, state LIMIT @keep)
            """,
            transaction,
            [("account", account), ("state", state), ("keep", MaxLivePerAccount - 1)],
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return state;
    }

    // Consumed on first use, valid or not, so a leaked state cannot be replayed.
    public async Task<ConsentState?> ConsumeAsync(string state, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await Sql.QuerySingleOrDefaultAsync(
            connection,
            "DELETE FROM oauth_states WHERE state = @state RETURNING account, expires_at, admin, browser_hash",
            null,
            [("state", state)],
            reader => new ConsumedState(new ConsentState(reader.String("account"), reader.StringOrNull("admin"), reader.StringOrNull("browser_hash")), reader.Time("expires_at")),
            cancellationToken);
        return row is { } found && found.ExpiresAt > time.GetUtcNow() ? found.State : null;
    }

    private sealed record ConsumedState(ConsentState State, DateTimeOffset ExpiresAt);

    public async Task<long> CountAsync(string account, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.ScalarInt64Async(connection, "SELECT COUNT(*) FROM oauth_states WHERE account = @account", null, [("account", account)], cancellationToken) ?? 0;
    }
}
