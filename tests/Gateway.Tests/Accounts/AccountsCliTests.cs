using Gateway.Amo.Tokens;
using Gateway.Cli;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Accounts;

// `tokens import|refresh --account <domain>`: the command line acts on the account it names and on no other, and an
// account that is not configured is refused by name, before anything is read or written.
public sealed class AccountsCliTests
{
    [Fact]
    public async Task Tokens_import_with_account_stores_that_accounts_tokens_only()
    {
        await using var two = await TwoAccounts.StartAsync();
        var pair = two.B.State.IssueTokens();
        var file = Path.Combine(Directory.CreateTempSubdirectory("tokens-").FullName, "tokens.json");
        await File.WriteAllTextAsync(file, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{pair.ExpiresAt.ToUnixTimeSeconds()}},"base_domain":"{{TwoAccounts.DomainB}}"}""");
        var output = new StringWriter();

        var code = await GatewayCli.RunAsync(two.App.Services, ["tokens", "import", file, "--account", TwoAccounts.DomainB], output, new StringWriter());

        Assert.Equal(0, code);
        Assert.Equal($"Imported tokens for {TwoAccounts.DomainB}.", output.ToString().Trim());
        var store = two.App.Get<TokenStore>();
        Assert.Equal(pair.AccessToken, (await store.GetAsync(TwoAccounts.DomainB, CancellationToken.None))!.AccessToken);
        Assert.Null(await store.GetAsync(GatewayApp.Domain, CancellationToken.None));
    }

    [Fact]
    public async Task Tokens_refresh_with_account_refreshes_at_that_accounts_amocrm_only()
    {
        await using var two = await TwoAccounts.StartAsync();
        await two.AuthorizeBothAsync();

        var code = await GatewayCli.RunAsync(two.App.Services, ["tokens", "refresh", "--account", TwoAccounts.DomainB, "--force"], new StringWriter(), new StringWriter());

        Assert.Equal(0, code);
        Assert.Equal(1, two.B.State.RefreshGrants);
        Assert.Equal(0, two.A.State.RefreshGrants);
    }

    [Fact]
    public async Task An_account_that_is_not_configured_is_refused_by_name_and_nothing_is_stored()
    {
        await using var two = await TwoAccounts.StartAsync();
        var pair = two.B.State.IssueTokens();
        var file = Path.Combine(Directory.CreateTempSubdirectory("tokens-").FullName, "tokens.json");
        await File.WriteAllTextAsync(file, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{pair.ExpiresAt.ToUnixTimeSeconds()}}}""");
        var error = new StringWriter();

        var code = await GatewayCli.RunAsync(two.App.Services, ["tokens", "import", file, "--account", "uchinchi.amocrm.ru"], new StringWriter(), error);

        Assert.Equal(2, code);
        Assert.Contains("Unknown account uchinchi.amocrm.ru:", error.ToString(), StringComparison.Ordinal);
        Assert.Null(await two.App.Get<TokenStore>().GetAsync(TwoAccounts.DomainB, CancellationToken.None));
        Assert.Null(await two.App.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None));
    }
}
