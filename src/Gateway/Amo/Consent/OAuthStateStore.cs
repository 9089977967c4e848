using System.Security.Cryptography;
using Gateway.Data;

namespace Gateway.Amo.Consent;

// Consent states live in the database: single use, 20 minutes, valid on any instance and across restarts.
internal sealed class OAuthStateStore(Database database, TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(20);

    public async Task<string> CreateAsync(string account, CancellationToken cancellationToken)
    {
        var state = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(connection, "DELETE FROM oauth_states WHERE expires_at <= @now", null, [("now", now)], cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            "INSERT INTO oauth_states (state, account, expires_at) VALUES (@state, @account, @expires)",
            null,
            [("state", state), ("account", account), ("expires", now + Lifetime)],
            cancellationToken);
        return state;
    }

    // Consumed on first use, valid or not, so a leaked state cannot be replayed.
    public async Task<string?> ConsumeAsync(string state, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await Sql.QuerySingleOrDefaultAsync(
            connection,
            "DELETE FROM oauth_states WHERE state = @state RETURNING account, expires_at",
            null,
            [("state", state)],
            reader => new ConsumedState(reader.String("account"), reader.Time("expires_at")),
            cancellationToken);
        return row is { } found && found.ExpiresAt > time.GetUtcNow() ? found.Account : null;
    }

    private sealed record ConsumedState(string Account, DateTimeOffset ExpiresAt);
}
