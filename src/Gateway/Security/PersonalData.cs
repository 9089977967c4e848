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
    Name,
}

// The one place that seals and opens the personal data of stored leads (the raw body with name, phone, email and
// comment; the caller's address; the note), and hashes it where a value must be compared or looked up.
// Envelope encryption: two random keys, made once, stored in the database protected by the key ring (so every instance
// sharing the ring uses the same ones, and a copy without the ring opens nothing). Each value is then one AES-256-GCM
// call, about a quarter of a Data Protection call: intake seals every lead on the request path.
internal sealed class PersonalData(IDataProtectionProvider protection, Database database)
{
    // Marks a sealed value: rows stored before sealing (JSON, an address, note text) are read as they are.
    public const string SealedPrefix = "enc1:";

    // Marks a keyed request hash; an unmarked one is the plain SHA-256 of rows stored before.
    private const string KeyedHashPrefix = "k1:";

    private const string HashKeyName = "personal-data-hash-key";
    private const string DataKeyName = "personal-data-key";
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private static readonly byte[] Label = "amocrm-gateway personal data v1"u8.ToArray();

    private readonly IDataProtector keyProtector = protection.CreateProtector("Gateway.Security.PersonalDataKeys.v1");
    private byte[]? hashKey;
    private byte[]? dataKey;

    private byte[] DataKey => dataKey ?? throw new InvalidOperationException("PersonalData.InitializeAsync has not run");

    public string Seal(string value)
    {
        var clear = Encoding.UTF8.GetBytes(value);
        var sealedBytes = new byte[NonceBytes + TagBytes + clear.Length];
        RandomNumberGenerator.Fill(sealedBytes.AsSpan(0, NonceBytes));
        using (var aes = new AesGcm(DataKey, TagBytes))
        {
            aes.Encrypt(sealedBytes.AsSpan(0, NonceBytes), clear, sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), Label);
        }

        return SealedPrefix + Convert.ToBase64String(sealedBytes);
    }

    [return: NotNullIfNotNull(nameof(value))]
    public string? SealOrNull(string? value) => value is null ? null : Seal(value);

    // Throws CryptographicException when the value was sealed under another key (the key ring was replaced).
    public string Open(string stored)
    {
        if (!stored.StartsWith(SealedPrefix, StringComparison.Ordinal))
        {
            return stored;
        }

        var sealedBytes = Convert.FromBase64String(stored[SealedPrefix.Length..]);
        if (sealedBytes.Length < NonceBytes + TagBytes)
        {
            throw new CryptographicException("A sealed value too short to be one");
        }

        var clear = new byte[sealedBytes.Length - NonceBytes - TagBytes];
        using var aes = new AesGcm(DataKey, TagBytes);
        aes.Decrypt(sealedBytes.AsSpan(0, NonceBytes), sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), clear, Label);
        return Encoding.UTF8.GetString(clear);
    }

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
            problem = "it cannot be decrypted: it was encrypted under a key the key ring (DATA_DIR/keys or the database's data_protection_keys) no longer holds";
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
    // What a stored row may keep of a secret to tell later whether it is still the same one (the admin password a session
    // was opened with): keyed, so a copy of the database without the ring cannot be tried against guesses.
    public byte[] SecretFingerprint(string purpose, ReadOnlySpan<byte> secret) => Hash(purpose, Convert.ToHexStringLower(secret));

    public string BlindIndex(BlindIndexField field, string value) => field switch
    {
        BlindIndexField.Phone => Convert.ToHexStringLower(Hash("phone", new string(value.Where(char.IsAsciiDigit).ToArray()))),
        BlindIndexField.Email => Convert.ToHexStringLower(Hash("email", value.Trim().ToLowerInvariant())),
        BlindIndexField.Name => Convert.ToHexStringLower(Hash("name", NormalName(value))),
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    // "  Aziza   KARIMOVA " and "aziza karimova" are one name: trimmed, inner spaces collapsed, case-folded.
    private static string NormalName(string value) =>
        string.Join(' ', value.Normalize(NormalizationForm.FormKC).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();

    // At start-up, after the key ring and before any request.
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        hashKey = await LoadKeyAsync(HashKeyName, cancellationToken);
        dataKey = await LoadKeyAsync(DataKeyName, cancellationToken);
    }

    // Random, made once; the first instance's insert wins a race.
    private async Task<byte[]> LoadKeyAsync(string name, CancellationToken cancellationToken)
    {
        var fresh = Convert.ToBase64String(keyProtector.Protect(RandomNumberGenerator.GetBytes(32)));
        string stored;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await Sql.ExecuteAsync(
                connection, "INSERT INTO protected_secrets (name, value) VALUES (@name, @value) ON CONFLICT (name) DO NOTHING", null,
                [("name", name), ("value", fresh)], cancellationToken);
            stored = await Sql.QuerySingleAsync(connection, "SELECT value FROM protected_secrets WHERE name = @name", null, [("name", name)], r => r.GetString(0), cancellationToken);
        }

        try
        {
            return keyProtector.Unprotect(Convert.FromBase64String(stored));
        }
        catch (CryptographicException ex)
        {
            // The key ring was replaced or lost (a restore without DATA_DIR/keys, another volume): this row is the only copy of
            // the key that sealed the stored leads, so it is never overwritten — putting the right ring back brings them back.
            throw new Hosting.StartupProblemException(
                $"the personal-data key in the database (protected_secrets, {name}) cannot be opened with this key ring: restore the key ring "
                + "that was backed up with the database (DATA_DIR/keys, or the data_protection_keys table), or, to give up the personal data of "
                + $"stored leads, delete that row and start again", ex);
        }
    }

    private byte[] Hash(string purpose, string value)
    {
        var key = hashKey ?? throw new InvalidOperationException("PersonalData.InitializeAsync has not run");
        return HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(purpose + "\0" + value));
    }

}
