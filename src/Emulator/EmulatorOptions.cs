using System.Globalization;

namespace Emulator;

public sealed class EmulatorOptions
{
    public string ClientId { get; set; } = "emulator-client-id";
    public string ClientSecret { get; set; } = "emulator-client-secret";

    // A string: amoCRM compares redirect_uri with the registered one character by character.
    public string RedirectUri { get; set; } = "http://localhost:9095/oauth/callback";

    // The account host is "{Subdomain}.amocrm.ru": the consent redirect's referer and the account's base domain.
    public string Subdomain { get; set; } = "emulator";
    public long AccountId { get; set; } = 28805383;
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(24);
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(90);
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(20);

    // 0 = no limit.
    public int RateLimitPerSecond { get; set; } = 7;

    // Lists answer min(limit, MaxPageSize) items per page; tests lower it to force pagination.
    public int MaxPageSize { get; set; } = 250;
    public int MaxBatchSize { get; set; } = 250;

    // Flat keys, from environment variables or "--EMULATOR_RATE_LIMIT 0" on the command line.
    internal static EmulatorOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new EmulatorOptions();
        options.ClientId = configuration["EMULATOR_CLIENT_ID"] is { Length: > 0 } id ? id : options.ClientId;
        options.ClientSecret = configuration["EMULATOR_CLIENT_SECRET"] is { Length: > 0 } secret ? secret : options.ClientSecret;
        options.RedirectUri = configuration["EMULATOR_REDIRECT_URI"] is { Length: > 0 } uri ? uri : options.RedirectUri;
        options.Subdomain = configuration["EMULATOR_SUBDOMAIN"] is { Length: > 0 } subdomain ? subdomain : options.Subdomain;
        if (ReadInt(configuration, "EMULATOR_ACCESS_TOKEN_LIFETIME_SECONDS", 1) is int seconds)
        {
            options.AccessTokenLifetime = TimeSpan.FromSeconds(seconds);
        }

        if (ReadInt(configuration, "EMULATOR_RATE_LIMIT", 0) is int limit)
        {
            options.RateLimitPerSecond = limit;
        }

        return options;
    }

    private static int? ReadInt(IConfiguration configuration, string key, int minimum)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < minimum)
        {
            throw new InvalidOperationException($"{key} must be an integer >= {minimum.ToString(CultureInfo.InvariantCulture)}, got '{text}'.");
        }

        return value;
    }
}
