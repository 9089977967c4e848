using System.Security.Cryptography;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// The admin browser session: ADMIN_PASSWORD (optional), how long a session may idle and how long it may live at most.
internal sealed class AdminSessionOptions : FlatOptions
{
    public const int MinPasswordLength = 12;

    // Null: no ADMIN_PASSWORD, only admin keys open a session.
    public AdminPassword? Password { get; set; }

    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(12);
}

// Only a digest of the password is kept, never the text: nothing to store, log or show, and a comparison in constant time.
// A fast digest is enough here: it never leaves the process (a hash an attacker could copy would need PBKDF2 or Argon2).
internal sealed class AdminPassword(string password)
{
    private readonly byte[] digest = ApiKeyRing.Hash(password);

    public int Length { get; } = password.Length;

    public bool Matches(string presented) => CryptographicOperations.FixedTimeEquals(ApiKeyRing.Hash(presented), digest);

    // Kept with a session opened by this password: a changed ADMIN_PASSWORD ends the sessions the old one opened.
    public byte[] Fingerprint(PersonalData data) => data.SecretFingerprint("admin-password", digest);
}

internal sealed class AdminSessionOptionsSetup(IConfiguration configuration) : IConfigureOptions<AdminSessionOptions>
{
    public void Configure(AdminSessionOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        if (env.Get("ADMIN_PASSWORD") is { } password)
        {
            options.Password = new AdminPassword(password);
        }

        if (env.TryGetInt("ADMIN_SESSION_IDLE_MINUTES", out var idle)) options.IdleTimeout = TimeSpan.FromMinutes(idle);
        if (env.TryGetInt("ADMIN_SESSION_MAX_HOURS", out var max)) options.MaxAge = TimeSpan.FromHours(max);
    }
}

internal sealed class AdminSessionOptionsValidator : FlatOptionsValidator<AdminSessionOptions>
{
    protected override void Check(AdminSessionOptions options, List<string> failures)
    {
        // Never the password itself, not even its first letters: only how long it must be.
        if (options.Password is { Length: < AdminSessionOptions.MinPasswordLength })
        {
            failures.Add($"ADMIN_PASSWORD must be at least {AdminSessionOptions.MinPasswordLength} characters long");
        }

        if (options.IdleTimeout < TimeSpan.FromMinutes(1) || options.IdleTimeout > TimeSpan.FromDays(1))
        {
            failures.Add("ADMIN_SESSION_IDLE_MINUTES must be between 1 and 1440");
        }

        if (options.MaxAge < TimeSpan.FromHours(1) || options.MaxAge > TimeSpan.FromDays(30))
        {
            failures.Add("ADMIN_SESSION_MAX_HOURS must be between 1 and 720");
        }
    }
}
