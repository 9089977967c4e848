using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Gateway.Data;
using Microsoft.AspNetCore.DataProtection;

namespace Gateway.Security;

internal enum BlindIndexField
{
    Phone,
    Email,
}

// The one place that seals and opens the personal data of stored leads (the raw body with name, phone, email and
// comment; the caller's address; the note), and hashes it where a value must be compared or looked up.
// Sealed with the key ring like the tokens, so every instance sharing the ring reads what another stored.
internal sealed partial class PersonalData(IDataProtectionProvider protection, Database database, ILogger<PersonalData> logger)
{
    // Marks a sealed value: rows stored before sealing (JSON, an address, note text) are read as they are.
    public const string SealedPrefix = "enc1:";

    // Marks a keyed request hash; an unmarked one is the plain SHA-256 of rows stored before.
    private const string KeyedHashPrefix = "k1:";

    private const string HashKeyName = "personal-data-hash-key";

    private readonly IDataProtector protector = protection.CreateProtector("Gateway.Security.PersonalData.v1");
    private readonly IDataProtector hashKeyProtector = protection.CreateProtector("Gateway.Security.PersonalDataHashKey.v1");
    private byte[]? hashKey;

    public string Seal(string value) => SealedPrefix + protector.Protect(value);

    [return: NotNullIfNotNull(nameof(value))]
    public string? SealOrNull(string? value) => value is null ? null : Seal(value);

    // Throws CryptographicException when the key ring no longer holds the key the value was sealed with.
    public string Open(string stored) =>
        stored.StartsWith(SealedPrefix, StringComparison.Ordinal) ? protector.Unprotect(stored[SealedPrefix.Length..]) : stored;

    [return: NotNullIfNotNull(nameof(stored))]
    public string? OpenOrNull(string? stored) => stored is null ? null : Open(stored);

    // Null with the reason when a stored value cannot be opened: the caller fails that item instead of the whole batch.
    public bool TryOpen(string? stored, out string? value, [NotNullWhen(false)] out string? problem)
    {
        try
        {
            value = OpenOrNull(stored);
            problem = null;
            return true;
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            value = null;
            problem = "it cannot be decrypted: the key ring (DATA_DIR/keys or the database's data_protection_keys) no longer holds the key it was encrypted with";
            return false;
        }
    }

    // Idempotency repeats compare a keyed hash of the body, so the column tells nothing to someone guessing bodies.
    public string RequestHash(string payload) => KeyedHashPrefix + Convert.ToHexStringLower(Hash("request", payload));

    public bool IsSameRequest(string? storedHash, string payload) => storedHash switch
    {
        null => false,
        _ when storedHash.StartsWith(KeyedHashPrefix, StringComparison.Ordinal) => CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(storedHash), Encoding.ASCII.GetBytes(RequestHash(payload))),
        _ => storedHash == Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(payload))),
    };

    // A blind index for looking leads or contacts up by phone or email: an HMAC of the normalised value, never the value.
    // The same person's "+998 90 123-45-67" and "998901234567" give one index; another gateway's ring gives another.
    public string BlindIndex(BlindIndexField field, string value) => field switch
    {
        BlindIndexField.Phone => Convert.ToHexStringLower(Hash("phone", new string(value.Where(char.IsAsciiDigit).ToArray()))),
        BlindIndexField.Email => Convert.ToHexStringLower(Hash("email", value.Trim().ToLowerInvariant())),
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    // At start-up, after the key ring: the hash key is random, made once and stored sealed by the ring (in the database,
    // so every instance hashes alike); the first instance's insert wins a race.
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var fresh = Convert.ToBase64String(hashKeyProtector.Protect(RandomNumberGenerator.GetBytes(32)));
        string stored;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await Sql.ExecuteAsync(
                connection, "INSERT INTO protected_secrets (name, value) VALUES (@name, @value) ON CONFLICT (name) DO NOTHING", null,
                [("name", HashKeyName), ("value", fresh)], cancellationToken);
            stored = await Sql.QuerySingleAsync(connection, "SELECT value FROM protected_secrets WHERE name = @name", null, [("name", HashKeyName)], r => r.GetString(0), cancellationToken);
        }

        try
        {
            hashKey = hashKeyProtector.Unprotect(Convert.FromBase64String(stored));
        }
        catch (CryptographicException)
        {
            // The ring was replaced (its old keys removed): nothing hashed before can be matched any more, so start afresh.
            LogHashKeyReplaced();
            await using var connection = await database.OpenAsync(cancellationToken);
            await Sql.ExecuteAsync(connection, "UPDATE protected_secrets SET value = @value WHERE name = @name", null, [("name", HashKeyName), ("value", fresh)], cancellationToken);
            hashKey = hashKeyProtector.Unprotect(Convert.FromBase64String(fresh));
        }
    }

    private byte[] Hash(string purpose, string value)
    {
        var key = hashKey ?? throw new InvalidOperationException("PersonalData.InitializeAsync has not run");
        return HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(purpose + "\0" + value));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The key for hashing personal data could not be decrypted (the key ring was replaced); a new one is in use, so an idempotency key used before now answers 422 if repeated")]
    private partial void LogHashKeyReplaced();
}
