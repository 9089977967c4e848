using System.Net;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// What the gateway accepts from the internet: keys, rates, sizes and which proxies may speak for a client.
internal sealed class SecurityOptions : FlatOptions
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

    // Loopback by default (as ASP.NET Core's own forwarded-headers default): behind the shipped nginx every request comes
    // from 127.0.0.1, and without believing its X-Forwarded-For one visitor's wrong keys would block every caller.
    public IReadOnlyList<IPAddress> TrustedProxies { get; set; } = [IPAddress.Loopback, IPAddress.IPv6Loopback];

    public IReadOnlyList<System.Net.IPNetwork> TrustedNetworks { get; set; } = [];
}

internal sealed class SecurityOptionsSetup(IConfiguration configuration, IOptions<GatewayOptions> gateway) : IConfigureOptions<SecurityOptions>
{
    public void Configure(SecurityOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        if (env.Get("API_KEYS_FILE") is { } file)
        {
            options.KeysFile = Path.GetFullPath(file);
            options.KeysFileRequired = true;
        }
        else
        {
            options.KeysFile = Path.Combine(gateway.Value.DataDirFullPath, SecurityOptions.DefaultKeysFileName);
        }

        if (env.TryGetInt("RATE_LIMIT_PER_KEY_PER_MINUTE", out var perKey)) options.KeyRequestsPerMinute = perKey;
        if (env.TryGetInt("RATE_LIMIT_PER_IP_PER_MINUTE", out var perIp)) options.IpRequestsPerMinute = perIp;
        if (env.TryGetInt("BAD_KEY_LIMIT", out var badKeys)) options.BadKeyLimit = badKeys;
        if (env.TryGetSeconds("BAD_KEY_WINDOW_SECONDS", out var window)) options.BadKeyWindow = window;
        if (env.TryGetSeconds("BAD_KEY_BLOCK_SECONDS", out var block)) options.BadKeyBlock = block;
        if (env.TryGetInt("MAX_BODY_BYTES", out var body)) options.MaxBodyBytes = body;
        if (env.TryGetInt("MAX_JSON_DEPTH", out var depth)) options.MaxJsonDepth = depth;
        if (env.Get("TRUSTED_PROXIES") is { } none && none.Trim().Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            options.TrustedProxies = [];
            options.TrustedNetworks = [];
        }
        else if (env.Get("TRUSTED_PROXIES") is { } proxies)
        {
            var addresses = new List<IPAddress>(options.TrustedProxies);
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
                    env.Unreadable("TRUSTED_PROXIES", $"must be comma-separated IP addresses or CIDR networks (loopback is always trusted), or none; '{entry}' is neither");
                    return;
                }
            }

            options.TrustedProxies = addresses;
            options.TrustedNetworks = networks;
        }
    }
}

internal sealed class SecurityOptionsValidator : FlatOptionsValidator<SecurityOptions>
{
    protected override void Check(SecurityOptions options, List<string> failures)
    {
        NonNegative("RATE_LIMIT_PER_KEY_PER_MINUTE", options.KeyRequestsPerMinute, failures);
        NonNegative("RATE_LIMIT_PER_IP_PER_MINUTE", options.IpRequestsPerMinute, failures);
        NonNegative("BAD_KEY_LIMIT", options.BadKeyLimit, failures);
        if (options.BadKeyWindow < TimeSpan.FromSeconds(1)) failures.Add("BAD_KEY_WINDOW_SECONDS must be at least 1");
        if (options.BadKeyBlock < TimeSpan.FromSeconds(1)) failures.Add("BAD_KEY_BLOCK_SECONDS must be at least 1");
        if (options.MaxBodyBytes is < 1024 or > 16 * 1024 * 1024) failures.Add("MAX_BODY_BYTES must be between 1024 and 16777216");
        if (options.MaxJsonDepth is < 4 or > 256) failures.Add("MAX_JSON_DEPTH must be between 4 and 256");
    }

    private static void NonNegative(string name, int value, List<string> failures)
    {
        if (value < 0)
        {
            failures.Add($"{name} must be 0 (off) or a positive whole number");
        }
    }
}
