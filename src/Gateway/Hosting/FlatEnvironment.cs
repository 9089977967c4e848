using Gateway.Operations;
namespace Gateway.Hosting;

// The inherited .env names are flat (API_KEY, AMO_CLIENT_ID ...); this is the one place that knows them.
internal static class FlatEnvironment
{
    public static string? Get(IConfiguration configuration, string name)
    {
        var value = configuration[name];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    public static bool TryGetSeconds(IConfiguration configuration, string name, out TimeSpan value)
    {
        value = default;
        var raw = Get(configuration, name);
        if (raw is null)
        {
            return false;
        }

        if (!double.TryParse(raw, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds < 0)
        {
            throw new InvalidSettingException(name, "must be a number of seconds");
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }

    public static bool TryGetInt(IConfiguration configuration, string name, out int value)
    {
        value = default;
        var raw = Get(configuration, name);
        if (raw is null)
        {
            return false;
        }

        if (!int.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out value))
        {
            throw new InvalidSettingException(name, "must be a whole number");
        }

        return true;
    }

    public static bool? GetBool(IConfiguration configuration, string name)
    {
        var raw = Get(configuration, name);
        return raw?.ToUpperInvariant() switch
        {
            null => null,
            "1" or "TRUE" or "YES" or "ON" => true,
            "0" or "FALSE" or "NO" or "OFF" => false,
            _ => throw new InvalidSettingException(name, "must be true or false"),
        };
    }
}

internal sealed class InvalidSettingException(string setting, string problem)
    : Exception($"{setting} {problem}")
{
    public string Setting { get; } = setting;
}

internal sealed class GatewayOptionsSetup(IConfiguration configuration) : Microsoft.Extensions.Options.IConfigureOptions<GatewayOptions>
{
    public void Configure(GatewayOptions options)
    {
        options.ApiKey = FlatEnvironment.Get(configuration, "API_KEY") ?? options.ApiKey;
        options.DataDir = FlatEnvironment.Get(configuration, "DATA_DIR") ?? options.DataDir;
        options.LogErrors = FlatEnvironment.GetBool(configuration, "LOG_ERRORS") ?? options.LogErrors;
        if (FlatEnvironment.Get(configuration, "CORS_ALLOWED_ORIGINS") is { } origins)
        {
            options.CorsAllowedOrigins = origins.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
    }
}
