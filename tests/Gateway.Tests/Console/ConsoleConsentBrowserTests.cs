using System.Globalization;
using Gateway.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gateway.Tests.AdminConsole;

// Issue 18: connecting an account as a person does it, in chromium: the console's Connect, the emulator's consent page
// (over HTTP on loopback, like amoCRM's), the gateway's callback with its identity check, and back to the console.
public sealed class ConsoleConsentBrowserTests
{
    [BrowserFact]
    public async Task An_account_is_connected_through_the_emulators_consent_from_the_accounts_page_and_shows_whose_token_it_is()
    {
        await using var site = await ConsoleSite.StartAsync();
        var amoId = site.Amo.State.MainAccount.Id.ToString(CultureInfo.InvariantCulture);
        await site.SignInAsync();
        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        var row = AccountRow(site);
        await Expect(row).ToContainTextAsync("waiting for a token");
        await Expect(row).ToContainTextAsync("no token yet");

        await row.GetByRole(AriaRole.Link, new() { Name = "Connect", Exact = true }).ClickAsync();

        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Allow access to your amoCRM account");
        Assert.StartsWith(new Uri(site.Amo.BaseUrl, "/oauth?").ToString(), site.Page.Url, StringComparison.Ordinal);
        await Expect(site.Page.GetByLabel("Account")).ToHaveValueAsync(amoId);
        await site.AssertAccessibleAsync("the emulator's consent page");
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Allow" }).ClickAsync();

        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("amoCRM is connected");
        Assert.StartsWith(new Uri(site.Address, "/oauth/callback?").ToString(), site.Page.Url, StringComparison.Ordinal);
        await Expect(site.Page.Locator("main p").First).ToHaveTextAsync(
            $"{GatewayApp.Domain} is connected. amoCRM confirmed the token is for the account {site.Amo.State.MainAccount.Subdomain} (id {amoId}).");
        await site.AssertAccessibleAsync("the consent's callback page");
        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Back to the accounts in the console" }).ClickAsync();

        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Accounts");
        await Expect(row).ToContainTextAsync("valid");
        await Expect(row.GetByRole(AriaRole.Cell, new() { Name = $"id {amoId}", Exact = true })).ToBeVisibleAsync();
        await Expect(row.GetByRole(AriaRole.Link, new() { Name = "Reconnect", Exact = true })).ToBeVisibleAsync();
        Assert.Equal(1, site.Amo.State.CodeGrants);
        using var api = site.Api();
        Assert.Equal("authorized", (string?)(await ApiAssert.SuccessDataAsync(await api.GetAsync("/oauth/status")))["status"]);
    }

    [BrowserFact]
    public async Task Consent_given_in_another_amoCRM_account_is_refused_and_the_account_stays_unconnected()
    {
        await using var site = await ConsoleSite.StartAsync();
        var stranger = site.Amo.State.AddAccount("stranger", 31000001);
        await site.SignInAsync();
        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        await AccountRow(site).GetByRole(AriaRole.Link, new() { Name = "Connect", Exact = true }).ClickAsync();

        await site.Page.GetByLabel("Account").SelectOptionAsync(stranger.Id.ToString(CultureInfo.InvariantCulture));
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Allow" }).ClickAsync();

        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("amoCRM authorization failed");
        await Expect(site.Page.Locator("main p").First).ToContainTextAsync($"{stranger.Host} is not the amoCRM account this gateway is configured for ({GatewayApp.Domain})");
        await site.AssertAccessibleAsync("a refused consent");
        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Back to the accounts in the console" }).ClickAsync();
        await Expect(AccountRow(site)).ToContainTextAsync("no token yet");
        Assert.Equal(0, site.Amo.State.CodeGrants);
    }

    private static ILocator AccountRow(ConsoleSite site) =>
        site.Page.GetByRole(AriaRole.Row).Filter(new() { Has = site.Page.GetByRole(AriaRole.Rowheader, new() { Name = GatewayApp.Domain, Exact = true }) });
}
