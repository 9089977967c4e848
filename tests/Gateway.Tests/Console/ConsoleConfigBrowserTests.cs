using System.Net;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gateway.Tests.AdminConsole;

// Issue 18: the console's Keys page and the add-account form, used as a person uses them, in chromium.
public sealed class ConsoleConfigBrowserTests
{
    [BrowserFact]
    public async Task A_key_created_in_the_keys_page_posts_a_lead_like_curl_and_is_refused_once_revoked()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.App.AuthorizeAsync();
        await site.SignInAsync();
        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Keys" }).ClickAsync();
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("API keys");
        await site.AssertAccessibleAsync("keys");

        await site.Page.GetByLabel("Name", new() { Exact = true }).FillAsync("landing");
        await site.Page.GetByLabel("Default source").FillAsync("landing page");
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Create the key" }).ClickAsync();

        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Key landing created.");
        var key = (await site.Page.Locator("#new-key").TextContentAsync())!;
        site.App.MadeSecrets.Add(key);
        await site.AssertAccessibleAsync("a new key shown once");
        var row = site.Page.GetByRole(AriaRole.Row).Filter(new() { Has = site.Page.GetByRole(AriaRole.Rowheader, new() { Name = "landing" }) });
        await Expect(row).ToContainTextAsync("console");
        await Expect(row).ToContainTextAsync("send leads");
        Assert.DoesNotContain(key, await site.Page.Locator("table").TextContentAsync() ?? "", StringComparison.Ordinal);

        // What curl -H "X-API-KEY: …" -d @lead.json …/api/v1/leads/unsorted does.
        using var curl = new HttpClient { BaseAddress = site.Address };
        curl.DefaultRequestHeaders.Add("X-API-KEY", key);
        var posted = await curl.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(1));
        Assert.True(posted.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted, $"the new key's lead was answered {posted.StatusCode}");

        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Revoke landing" }).ClickAsync();
        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Key landing revoked.");
        await Expect(site.Page.Locator("#new-key")).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.Unauthorized, (await curl.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(2))).StatusCode);
    }

    [BrowserFact]
    public async Task An_account_is_added_and_removed_from_the_accounts_page()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.SignInAsync();
        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        await Expect(site.Page.GetByRole(AriaRole.Heading, new() { Name = "Add an account" })).ToBeVisibleAsync();
        await site.AssertAccessibleAsync("accounts with the add form");

        await site.Page.GetByLabel("Account address").FillAsync("ikkinchi.amocrm.ru");
        await site.Page.GetByLabel("Integration id (client_id)").FillAsync("second-client-id");
        await site.Page.GetByLabel("Secret key (client_secret)").FillAsync("second-client-secret-0123456789");
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Add the account" }).ClickAsync();

        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Account ikkinchi.amocrm.ru added.");
        await Expect(site.Page.GetByRole(AriaRole.Rowheader, new() { Name = "ikkinchi.amocrm.ru" })).ToBeVisibleAsync();
        using var api = site.Api();
        var listed = await ApiAssert.SuccessDataAsync(await api.GetAsync("/api/v1/admin/accounts"));
        Assert.Contains(listed["accounts"]!.AsArray(), a => (string?)a!["domain"] == "ikkinchi.amocrm.ru" && (string?)a["source"] == "database");
        Assert.DoesNotContain("second-client-secret-0123456789", await site.Page.ContentAsync(), StringComparison.Ordinal);

        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Remove ikkinchi.amocrm.ru" }).ClickAsync();

        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Account ikkinchi.amocrm.ru removed; its stored leads are kept.");
        await Expect(site.Page.GetByRole(AriaRole.Rowheader, new() { Name = "ikkinchi.amocrm.ru" })).ToHaveCountAsync(0);
    }
}
