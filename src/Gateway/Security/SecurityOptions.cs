using Gateway.Data;
using System.Net;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// What the gateway accepts from the internet: keys, rates, sizes and which proxies may speak for a client.
internal sealed class SecurityOptions
{
    public const string SectionName = "Security";
    public const string DefaultKeysFileName = "api-keys.json";

    // Null: no keys file (the default path did not exist at start-up and may appear later).
    public string KeysFile { get; set; } = "";

    public bool KeysFileRequired { get; set; }

    public int KeyRequestsPerMinute { get; set; } = 600;

    public int IpRequestsPerMinute { get; set; } = 120;

    public int BadKeyLimit { get; set; } = 10;

    public TimeSpan BadKeyWindow { get; set; } = TimeSpan.FromMinutes(10);

    public TimeSpan BadKeyBlock { get; set; } = TimeSpan.FromMinutes(15);

    public int MaxBodyBytes { get; set; } = 64 * 1024;

    public int MaxJsonDepth { get; set; } = 32;

    public IReadOnlyList<IPAddress> TrustedProxies { get; set; } = [];

    public IReadOnlyList<System.Net.IPNetwork> TrustedNetworks { get; set; } = [];
}

internal sealed class SecurityOptionsSetup(IConfiguration configuration, IOptions<GatewayOptions> gateway) : IConfigureOptions<SecurityOptions>
{
    public void Configure(SecurityOptions options)
    {
        if (FlatEnvironment.Get(configuration, "API_KEYS_FILE") is { } file)
        {
            options.KeysFile = Path.GetFullPath(file);
            options.KeysFileRequired = true;
        }
        else
        {
            options.KeysFile = Path.Combine(gateway.Value.DataDirFullPath, SecurityOptions.DefaultKeysFileName);
        }

        options.KeyRequestsPerMinute = NonNegative("RATE_LIMIT_PER_KEY_PER_MINUTE", options.KeyRequestsPerMinute);
        options.IpRequestsPerMinute = NonNegative("RATE_LIMIT_PER_IP_PER_MINUTE", options.IpRequestsPerMinute);
        options.BadKeyLimit = NonNegative("BAD_KEY_LIMIT", options.BadKeyLimit);
        if (FlatEnvironment.TryGetSeconds(configuration, "BAD_KEY_WINDOW_SECONDS", out var window))
        {
            options.BadKeyWindow = window >= TimeSpan.FromSeconds(1) ? window : throw new InvalidSettingException("BAD_KEY_WINDOW_SECONDS", "must be at least 1");
        }

        if (FlatEnvironment.TryGetSeconds(configuration, "BAD_KEY_BLOCK_SECONDS", out var block))
        {
            options.BadKeyBlock = block >= TimeSpan.FromSeconds(1) ? block : throw new InvalidSettingException("BAD_KEY_BLOCK_SECONDS", "must be at least 1");
        }

        if (FlatEnvironment.TryGetInt(configuration, "MAX_BODY_BYTES", out var body))
        {
            options.MaxBodyBytes = body is >= 1024 and <= 16 * 1024 * 1024 ? body : throw new InvalidSettingException("MAX_BODY_BYTES", "must be between 1024 and 16777216");
        }

        if (FlatEnvironment.TryGetInt(configuration, "MAX_JSON_DEPTH", out var depth))
        {
            options.MaxJsonDepth = depth is >= 4 and <= 256 ? depth : throw new InvalidSettingException("MAX_JSON_DEPTH", "must be between 4 and 256");
        }

        if (FlatEnvironment.Get(configuration, "TRUSTED_PROXIES") is { } proxies)
        {
            var addresses = new List<IPAddress>();
            var networks = new List<System.Net.IPNetwork>();
            foreach (var entry in proxies.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (entry.Contains('/', StringComparison.Ordinal) && System.Net.IPNetwork.TryParse(entry, out var network))
                {
                    networks.Add(network);
                }
                else if (!entry.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(entry, out var address))
                {
                    addresses.Add(address);
                }
                else
                {
                    throw new InvalidSettingException("TRUSTED_PROXIES", $"must be comma-separated IP addresses or CIDR networks; '{entry}' is neither");
                }
            }

            options.TrustedProxies = addresses;
            options.TrustedNetworks = networks;
        }
    }

    private int NonNegative(string name, int fallback)
    {
        if (!FlatEnvironment.TryGetInt(configuration, name, out var value))
        {
            return fallback;
        }

        return value >= 0 ? value : throw new InvalidSettingException(name, "must be 0 (off) or a positive whole number");
    }
}
