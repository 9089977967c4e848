using Gateway.Amo.Tokens;
using Gateway.Accounts;

namespace Gateway.Amo.Consent;

internal enum ConnectOutcome
{
    Connected,
    ExchangeRejected,   // amoCRM refused the code
    ExchangeFailed,     // no usable answer from the token endpoint
    CheckFailed,        // the new token's /api/v4/account could not be read: nothing stored
    WrongAccount,       // the new token belongs to another account: nothing stored
}

internal sealed record ConnectResult(ConnectOutcome Outcome, string Message, AmoToken? Saved = null, AccountIdentity? Got = null, TokenCallResult? Exchange = null);

// What the consent callback and `tokens exchange` share: a code becomes the account's pair only once amoCRM itself
// (GET /api/v4/account with the new token) says the pair is for the account being connected. Whatever host redeemed the
// code, a pair for another account must never replace a working one: the next lead would go to a stranger.
internal sealed partial class AccountConnector(
    AmoOAuthClient oauth,
    AmoTokenManager tokens,
    TokenStore store,
    AccountRegistry registry,
    ILogger<AccountConnector> logger)
{
    public async Task<ConnectResult> ConnectAsync(string account, string host, string code, string? admin, CancellationToken cancellationToken)
    {
        var exchange = await oauth.ExchangeCodeAsync(account, host, code, cancellationToken);
        if (exchange.Outcome != TokenCallOutcome.Success)
        {
            return new ConnectResult(
                exchange.Outcome is TokenCallOutcome.Rejected or TokenCallOutcome.HostRefused ? ConnectOutcome.ExchangeRejected : ConnectOutcome.ExchangeFailed,
                "Failed to exchange authorization code",
                Exchange: exchange);
        }

        var pair = exchange.Pair!;
        var check = await oauth.ReadAccountAsync(account, host, pair.AccessToken, cancellationToken);
        if (check.Account is not { } got)
        {
            LogCheckFailed(account, check.Description, admin);
            return new ConnectResult(ConnectOutcome.CheckFailed,
                $"Could not confirm which amoCRM account the new token belongs to ({check.Description}); nothing was changed, start again at /oauth/authorize");
        }

        var stored = await store.GetAsync(account, cancellationToken);
        if (Mismatch(account, got, stored) is { } expected)
        {
            return Refuse(account, got, expected, admin);
        }

        // Compared again under the token's lease: a refresh may have learned the id meanwhile.
        string? lateExpected = null;
        var saved = await tokens.StoreGrantIfAsync(
            account,
            pair with { BaseDomain = host, AmoAccountId = got.Id },
            false,
            "authorized",
            null,
            latest =>
            {
                lateExpected = Mismatch(account, got, latest);
                return lateExpected is null;
            },
            CancellationToken.None);
        if (saved is null)
        {
            return Refuse(account, got, lateExpected!, admin);
        }

        LogConnected(account, got.Subdomain, got.Id, admin);
        return new ConnectResult(ConnectOutcome.Connected, "Authorization successful", saved, got);
    }

    // Null when the token is for this account: the configured subdomain (or the one stored), and the account id once known.
    private string? Mismatch(string account, AccountIdentity got, AmoToken? stored)
    {
        var domain = registry.Find(account)?.Domain ?? account;
        var subdomains = new[] { domain, stored?.BaseDomain }.OfType<string>().Select(AmoHosts.Subdomain).ToArray();
        var sameSubdomain = subdomains.Contains(got.Subdomain, StringComparer.OrdinalIgnoreCase);
        var sameId = stored?.AmoAccountId is not { } knownId || knownId == got.Id;
        if (sameSubdomain && sameId)
        {
            return null;
        }

        return stored?.AmoAccountId is { } id ? $"{domain} (id {id})" : domain;
    }

    private ConnectResult Refuse(string account, AccountIdentity got, string expected, string? admin)
    {
        LogWrongAccount(account, got.Subdomain, got.Id, expected, admin);
        return new ConnectResult(ConnectOutcome.WrongAccount,
            $"Authorization refused: amoCRM gave a token for account {got.Subdomain} (id {got.Id}), but this gateway is connected to {expected}; the stored token was not changed",
            Got: got);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Consent for {Account} stored: amoCRM account {Subdomain} (id {AmoAccountId}), started by {Admin}")]
    private partial void LogConnected(string account, string subdomain, long amoAccountId, string? admin);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consent for {Account} refused: the new token belongs to amoCRM account {Subdomain} (id {AmoAccountId}), not {Expected}; started by {Admin}. The stored token is unchanged")]
    private partial void LogWrongAccount(string account, string subdomain, long amoAccountId, string expected, string? admin);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consent for {Account} not stored: the new token's account could not be read ({Problem}); started by {Admin}")]
    private partial void LogCheckFailed(string account, string problem, string? admin);
}
