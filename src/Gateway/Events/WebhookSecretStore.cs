using System.Security.Cryptography;
using System.Text;
using Gateway.Data;
using Gateway.Security;

namespace Gateway.Events;

// The unguessable part of each account's amoCRM webhook path (amoCRM signs nothing): sealed for showing to admins,
// with its hash for checking a request without opening anything.
internal sealed class WebhookSecretStore(Database database, PersonalData personalData, TimeProvider time)
{
    public async Task<string> GetOrCreateAsync(string account, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var stored = await Sql.ScalarAsync(connection, "SELECT secret FROM amo_webhook_secrets WHERE account = @account", null, [("account", account)], cancellationToken) as string;
        if (stored is not null)
        {
            return personalData.Open(stored);
        }

        var secret = NewSecret();
        await Sql.ExecuteAsync(
            connection,
            "INSERT INTO amo_webhook_secrets (account, secret, secret_hash, created_at) VALUES (@account, @secret, @hash, @now) ON CONFLICT (account) DO NOTHING",
            null,
            [("account", account), ("secret", personalData.Seal(secret)), ("hash", Hash(secret)), ("now", time.GetUtcNow())],
            cancellationToken);
        // Two admins at once: whichever row won is the secret.
        return personalData.Open((string)(await Sql.ScalarAsync(connection, "SELECT secret FROM amo_webhook_secrets WHERE account = @account", null, [("account", account)], cancellationToken))!);
    }

    public async Task<string> RotateAsync(string account, CancellationToken cancellationToken)
    {
        var secret = NewSecret();
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            """
            INSERT INTO amo_webhook_secrets (account, secret, secret_hash, created_at) VALUES (@account, @secret, @hash, @now)
            ON CONFLICT (account) DO UPDATE SET secret = excluded.secret, secret_hash = excluded.secret_hash, created_at = excluded.created_at
            """,
            null,
            [("account", account), ("secret", personalData.Seal(secret)), ("hash", Hash(secret)), ("now", time.GetUtcNow())],
            cancellationToken);
        return secret;
    }

    public async Task<bool> IsValidAsync(string account, string presented, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var hash = await Sql.ScalarAsync(connection, "SELECT secret_hash FROM amo_webhook_secrets WHERE account = @account", null, [("account", account)], cancellationToken) as string;
        return hash is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hash), Encoding.ASCII.GetBytes(Hash(presented)));
    }

    private static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}
