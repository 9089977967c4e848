using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// GATEWAY_ENCRYPTION_KEY: 32 random bytes in base64 that encrypt the Data Protection key ring wherever it is stored.
// Unset, the ring (and so every token and lead it protects) is readable by whoever copies DATA_DIR or the database.
internal sealed class EncryptionOptions : FlatOptions
{
    public const string Variable = "GATEWAY_ENCRYPTION_KEY";
    public const int KeyBytes = 32;

    // Never shown, logged or compared outside KeyRingCipher.
    public byte[]? Key { get; set; }
}

internal sealed class EncryptionOptionsSetup(IConfiguration configuration) : IConfigureOptions<EncryptionOptions>
{
    public void Configure(EncryptionOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        if (env.Get(EncryptionOptions.Variable) is not { } value)
        {
            return;
        }

        // The problem is described, never the value: a wrong key is still most of a right one.
        var bytes = new byte[value.Length];
        if (!Convert.TryFromBase64String(value, bytes, out var length))
        {
            env.Unreadable(EncryptionOptions.Variable, $"is not base64; it must be {EncryptionOptions.KeyBytes} random bytes in base64, for example from `openssl rand -base64 32`");
            return;
        }

        if (length != EncryptionOptions.KeyBytes)
        {
            env.Unreadable(EncryptionOptions.Variable, $"decodes to {length} bytes; it must be {EncryptionOptions.KeyBytes} random bytes in base64, for example from `openssl rand -base64 32`");
            return;
        }

        options.Key = bytes[..length];
    }
}

internal sealed class EncryptionOptionsValidator : FlatOptionsValidator<EncryptionOptions>
{
    protected override void Check(EncryptionOptions options, List<string> failures)
    {
    }
}
