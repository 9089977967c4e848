using Gateway.Amo.Tokens;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Amo;

internal sealed class AmoOptions : FlatOptions
{
    public const string SectionName = "Amo";

    // The account's host, e.g. mycompany.amocrm.ru; also the account's key in every table.
    public string Domain { get; set; } = "";
    public string ClientId { get; set; } = "";
    public string ClientSecret { get; set; } = "";
    public string RedirectUri { get; set; } = "";
    public Uri? BaseUrl { get; set; }
    // Null: derived from the domain (AmoAccount.ConsentUrlFor).
    public Uri? AuthUrl { get; set; }
    public string? TokenStoragePath { get; set; }
    public string? LongLivedToken { get; set; }
    public TimeSpan RefreshMargin { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan KeepAliveAge { get; set; } = TimeSpan.FromDays(7);
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromHours(1);
    public int RateLimitPerSecond { get; set; } = 7;
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromMinutes(5);
    public string ConsentMode { get; set; } = "post_message";

    public string AccountKey => Domain.ToLowerInvariant();

    public bool UsesOAuth => LongLivedToken is null;
}

internal sealed class AmoOptionsSetup(IConfiguration configuration) : IConfigureOptions<AmoOptions>
{
    public void Configure(AmoOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        options.Domain = NormalizeHost(env.Get("AMO_DOMAIN")) ?? options.Domain;
        options.ClientId = env.Get("AMO_CLIENT_ID") ?? options.ClientId;
        options.ClientSecret = env.Get("AMO_CLIENT_SECRET") ?? options.ClientSecret;
        options.RedirectUri = env.Get("AMO_REDIRECT_URI") ?? options.RedirectUri;
        options.TokenStoragePath = env.Get("TOKEN_STORAGE_PATH") ?? options.TokenStoragePath;
        options.LongLivedToken = env.Get("AMO_LONG_LIVED_TOKEN") ?? options.LongLivedToken;
        options.ConsentMode = env.Get("AMO_CONSENT_MODE") ?? options.ConsentMode;
        options.BaseUrl = ParseUrl(env, "AMO_BASE_URL") ?? options.BaseUrl;
        options.AuthUrl = ParseUrl(env, "AMO_AUTH_URL") ?? options.AuthUrl;
        if (env.TryGetSeconds("AMO_REFRESH_MARGIN_SECONDS", out var margin)) options.RefreshMargin = margin;
        if (env.TryGetSeconds("AMO_KEEPALIVE_AGE_SECONDS", out var age)) options.KeepAliveAge = age;
        if (env.TryGetSeconds("AMO_KEEPALIVE_INTERVAL_SECONDS", out var interval)) options.KeepAliveInterval = interval;
        if (env.TryGetSeconds("AMO_TIMEOUT_SECONDS", out var timeout)) options.RequestTimeout = timeout;
        if (env.TryGetSeconds("AMO_CACHE_TTL_SECONDS", out var ttl)) options.CacheTtl = ttl;
        if (env.TryGetInt("AMO_RATE_LIMIT", out var rate)) options.RateLimitPerSecond = rate;
    }

    private static Uri? ParseUrl(FlatEnvironment env, string name)
    {
        var raw = env.Get(name);
        if (raw is null)
        {
            return null;
        }

        if (!Uri.TryCreate(raw.TrimEnd('/'), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            env.Unreadable(name, "must be an absolute http(s) URL");
            return null;
        }

        return uri;
    }

    // Users paste "https://x.amocrm.ru/" as often as "x.amocrm.ru".
    internal static string? NormalizeHost(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var host = value.Trim();
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }

        return host.TrimEnd('/').ToLowerInvariant();
    }
}

internal sealed class AmoOptionsValidator : FlatOptionsValidator<AmoOptions>
{
    protected override void Check(AmoOptions options, List<string> failures)
    {
        if (string.IsNullOrEmpty(options.Domain))
        {
            failures.Add("AMO_DOMAIN is required (the account host, e.g. mycompany.amocrm.ru)");
        }
        else if (Uri.CheckHostName(options.Domain) != UriHostNameType.Dns || !AmoHosts.IsAccountHost(options.Domain))
        {
            failures.Add("AMO_DOMAIN must be an amoCRM or Kommo account host such as mycompany.amocrm.ru or mycompany.kommo.com");
        }

        if (options.UsesOAuth)
        {
            if (string.IsNullOrEmpty(options.ClientId)) failures.Add("AMO_CLIENT_ID is required (or set AMO_LONG_LIVED_TOKEN)");
            if (string.IsNullOrEmpty(options.ClientSecret)) failures.Add("AMO_CLIENT_SECRET is required (or set AMO_LONG_LIVED_TOKEN)");
            if (!Uri.TryCreate(options.RedirectUri, UriKind.Absolute, out _)) failures.Add("AMO_REDIRECT_URI must be the absolute redirect URL registered in amoCRM");
        }
        else if (!Jwt.TryReadExpiry(options.LongLivedToken!, out _))
        {
            failures.Add("AMO_LONG_LIVED_TOKEN is not a JWT with an exp claim");
        }

        if (options.RateLimitPerSecond is < 1 or > 50) failures.Add("AMO_RATE_LIMIT must be between 1 and 50 requests per second");
        if (options.RequestTimeout <= TimeSpan.Zero || options.RequestTimeout > TimeSpan.FromMinutes(5)) failures.Add("AMO_TIMEOUT_SECONDS must be between 0 and 300");
        if (options.RefreshMargin > TimeSpan.FromHours(12)) failures.Add("AMO_REFRESH_MARGIN_SECONDS must be at most 43200");
        if (options.KeepAliveAge < TimeSpan.FromMinutes(1) || options.KeepAliveAge > TimeSpan.FromDays(60)) failures.Add("AMO_KEEPALIVE_AGE_SECONDS must be between 60 and 5184000 (60 days)");
        // Longer than the age it checks for defeats the keep-alive; beyond ~49 days the timer itself cannot be set.
        if (options.KeepAliveInterval < TimeSpan.FromSeconds(1) || options.KeepAliveInterval > TimeSpan.FromDays(7)) failures.Add("AMO_KEEPALIVE_INTERVAL_SECONDS must be between 1 and 604800 (7 days)");
        if (options.ConsentMode is not ("post_message" or "popup")) failures.Add("AMO_CONSENT_MODE must be post_message or popup");
    }
}

// Where the client secret and bearer tokens may go. A host taken from data (a callback's referer, `tokens exchange
// --referer`, a tokens.json base_domain, a stored base_domain) must be an account host; an explicit AMO_BASE_URL
// sends every call there instead, so then any host name is accepted as the account's name.
internal static class AmoHosts
{
    private static readonly string[] Suffixes = [".amocrm.ru", ".amocrm.com", ".kommo.com"];

    public const string AllowList = "*.amocrm.ru, *.amocrm.com, *.kommo.com";

    public static bool IsAccountHost(string host) =>
        !host.StartsWith("www.", StringComparison.OrdinalIgnoreCase)
        && Suffixes.Any(s => host.EndsWith(s, StringComparison.OrdinalIgnoreCase) && host.Length > s.Length);

    // Null when tokens may be sent to the host; otherwise the reason, in one line.
    public static string? Refusal(string? host, Uri? baseUrl)
    {
        if (string.IsNullOrEmpty(host))
        {
            return "no account host given";
        }

        // A port, a path or an address is not a host name.
        if (Uri.CheckHostName(host) != UriHostNameType.Dns)
        {
            return $"{Printable(host)} is not a host name (expected an account host such as mycompany.amocrm.ru)";
        }

        return baseUrl is null && !IsAccountHost(host)
            ? $"{host} is not an amoCRM or Kommo account host ({AllowList}; set AMO_BASE_URL to use another)"
            : null;
    }

    // Named back to the operator, but never with control characters or at any length.
    private static string Printable(string text)
    {
        var clean = new string([.. text.Where(c => !char.IsControl(c)).Take(100)]);
        return clean.Length == text.Length ? clean : clean + "…";
    }

    // "mycompany.amocrm.ru" -> "mycompany": what amoCRM's /api/v4/account calls the subdomain.
    public static string Subdomain(string host)
    {
        var dot = host.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? host[..dot] : host;
    }
}
