using System.Security.Cryptography;
using Dapper;
using Gateway.Data;

namespace Gateway.Amo.Consent;

// Consent states live in the database: single use, 20 minutes, valid on any instance and across restarts.
internal sealed class OAuthStateStore(Database database, TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(20);

    public async Task<string> CreateAsync(string account, CancellationToken cancellationToken)
    {
        var state = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("DELETE FROM oauth_states WHERE expires_at <= @now", new { now });
        await connection.ExecuteAsync(
            "INSERT INTO oauth_states (state, account, expires_at) VALUES (@state, @account, @expires)",
            new { state, account, expires = now + (long)Lifetime.TotalMilliseconds });
        return state;
    }

    // Consumed on first use, valid or not, so a leaked state cannot be replayed.
    public async Task<string?> ConsumeAsync(string state, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<(string Account, long ExpiresAt)?>(
            "DELETE FROM oauth_states WHERE state = @state RETURNING account, expires_at", new { state });
        return row is { } found && found.ExpiresAt > time.GetUtcNow().ToUnixTimeMilliseconds() ? found.Account : null;
    }
}
