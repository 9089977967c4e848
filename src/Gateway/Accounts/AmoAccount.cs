using Gateway.Amo;
using Gateway.Security;

namespace Gateway.Accounts;

// One amoCRM account the gateway delivers to: the .env account (the default) or one from a source (the accounts file).
// Domain is lower-case and is also the account's key in every table.
internal sealed record AmoAccount(
    string Domain,
    string ClientId,
    string ClientSecret,
    string RedirectUri,
    Uri? BaseUrl,
    Uri AuthUrl,
    string? TokenStoragePath,
    string? LongLivedToken,
    int RateLimitPerSecond,
    LeadDefaults Defaults,
    bool IsDefault)
{
    public string Key => Domain;

    // Where it is configured: "env" (the default account), "accounts_file" or "database" (added by an admin).
    public string Origin { get; init; } = IsDefault ? "env" : "accounts_file";

    public bool UsesOAuth => LongLivedToken is null;

    // Every amoCRM call goes to the base URL when set (emulator, proxy), else to the account host. Null when the host
    // comes from data (a stored base_domain) and is no account host: nothing, least of all a token, is sent there.
    public Uri? ApiBaseFor(string? baseDomain)
    {
        if (BaseUrl is not null)
        {
            return BaseUrl;
        }

        var host = string.IsNullOrEmpty(baseDomain) ? Domain : baseDomain;
        return AmoHosts.Refusal(host, BaseUrl) is null ? new Uri($"https://{host}") : null;
    }

    // Kommo accounts consent at Kommo, amoCRM accounts at amoCRM, unless the setting names another page.
    public static Uri ConsentUrlFor(string domain) =>
        domain.EndsWith(".kommo.com", StringComparison.OrdinalIgnoreCase)
            ? new Uri("https://www.kommo.com/oauth")
            : new Uri("https://www.amocrm.ru/oauth");

    public static AmoAccount FromOptions(AmoOptions options) => new(
        options.AccountKey,
        options.ClientId,
        options.ClientSecret,
        options.RedirectUri,
        options.BaseUrl,
        options.AuthUrl ?? ConsentUrlFor(options.AccountKey),
        options.TokenStoragePath,
        options.LongLivedToken,
        options.RateLimitPerSecond,
        new LeadDefaults(null, null, []),
        IsDefault: true);
}
