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
    public async Task A_key_created_in_the_keys_page_posts_a_lead_with_curl_and_is_refused_once_revoked()
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

        // The key pasted into curl, as the README shows it (curl -H "X-API-KEY: …" -d @lead.json …/api/v1/leads/unsorted).
        var posted = await CurlAsync(site.Address, key, OutboxTestKit.Lead(1));
        Assert.True(posted is HttpStatusCode.OK or HttpStatusCode.Accepted, $"the new key's lead was answered {posted} to curl");

        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Revoke landing" }).ClickAsync();
        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Key landing revoked.");
        await Expect(site.Page.Locator("#new-key")).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.Unauthorized, await CurlAsync(site.Address, key, OutboxTestKit.Lead(2)));
    }

    // The real curl (.ci/run installs it): the status of POST /api/v1/leads/unsorted with the key and a JSON body.
    private static async Task<HttpStatusCode> CurlAsync(Uri address, string key, string body)
    {
        var start = new System.Diagnostics.ProcessStartInfo("curl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-API-KEY: " + key, "-H", "Content-Type: application/json", "--data-binary", "@-", new Uri(address, "/api/v1/leads/unsorted").ToString() })
        {
            start.ArgumentList.Add(argument);
        }

        using var curl = System.Diagnostics.Process.Start(start)!;
        await curl.StandardInput.WriteAsync(body);
        curl.StandardInput.Close();
        var status = await curl.StandardOutput.ReadToEndAsync();
        var error = await curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        Assert.True(curl.ExitCode == 0, $"curl exited {curl.ExitCode}: {error}");
        return (HttpStatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture);
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

    [BrowserFact]
    public async Task A_rejected_submission_is_delivered_after_its_profile_is_fixed_and_previewed_in_the_sources_page()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.App.AuthorizeAsync();
        using var tilda = new HttpClient { BaseAddress = site.Address };
        await tilda.PostAsync($"/hooks/tilda/{GatewayApp.ApiKey}", new StringContent("Mijoz=Sardor&Aloqa=%2B998+90+222+33+44&formid=form555", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));
        using var api = site.Api();
        var id = (long)(await ApiAssert.SuccessDataAsync(await api.GetAsync("/api/v1/admin/submissions?status=rejected")))["submissions"]![0]!["id"]!;
        var created = await ApiAssert.EnvelopeAsync(await api.PostJsonAsync("/api/v1/admin/keys", """{"name":"site","scopes":["leads"]}"""), HttpStatusCode.Created);
        site.App.MadeSecrets.Add((string)created["data"]!["key"]!);
        await site.SignInAsync();

        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Sources" }).ClickAsync();
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Form sources");
        await Expect(site.Page.GetByRole(AriaRole.Heading, new() { Name = "Key site" })).ToBeVisibleAsync();
        await Expect(site.Page.Locator("code.url").First).ToContainTextAsync("/hooks/tilda/YOUR-KEY");
        Assert.DoesNotContain(GatewayApp.ApiKey, await site.Page.ContentAsync(), StringComparison.Ordinal);
        await site.AssertAccessibleAsync("sources");
        await site.Page.GetByLabel("Form tool").SelectOptionAsync("tilda");
        await site.Page.GetByLabel("Form (id or name; empty: every form)").FillAsync("form555");
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Add a field" }).ClickAsync();
        await site.Page.GetByLabel("Form field", new() { Exact = true }).FillAsync("Aloqa");
        await Expect(site.Page.GetByLabel("Goes to")).ToHaveValueAsync("contact.phone");
        await site.Page.GetByLabel("A recent submission").SelectOptionAsync(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Preview", Exact = true }).ClickAsync();
        await Expect(site.Page.Locator("#preview-item")).ToContainTextAsync("+998902223344");
        Assert.Empty(site.Amo.State.Unsorted);
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Save the profile" }).ClickAsync();
        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Profile saved.");

        await site.Page.GetByRole(AriaRole.Button, new() { Name = $"Replay submission #{id}" }).ClickAsync();

        await Expect(site.Page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Submission #{id} replayed");
        var item = await Eventually.SingleAsync(() => site.Amo.State.Unsorted, "the replayed lead in amoCRM");
        Assert.Contains("998902223344", item.Item.ToJsonString(), StringComparison.Ordinal);
        await Expect(site.Page.GetByText("No rejected submissions.")).ToBeVisibleAsync();
        await site.AssertAccessibleAsync("sources after the replay");
    }

    // docs/console/sources-{en,ru,uz}.png: written into the repository when GATEWAY_SCREENSHOTS is set, else to a temporary folder.
    [BrowserFact]
    public async Task The_sources_page_is_photographed_in_each_language()
    {
        var folder = Environment.GetEnvironmentVariable("GATEWAY_SCREENSHOTS") is { Length: > 0 }
            ? Path.Combine(RepositoryRoot(), "docs", "console")
            : Directory.CreateTempSubdirectory("gateway-shots-").FullName;
        Directory.CreateDirectory(folder);
        await using var site = await ConsoleSite.StartAsync(width: 1100);
        await site.App.AuthorizeAsync();
        await site.SignInAsync();
        using var api = site.Api();
        var created = await ApiAssert.EnvelopeAsync(await api.PostJsonAsync("/api/v1/admin/keys", """{"name":"website","scopes":["leads"]}"""), HttpStatusCode.Created);
        site.App.MadeSecrets.Add((string)created["data"]!["key"]!);
        await api.PutAsync("/api/v1/admin/sources/profiles", new StringContent("""{"source":"tilda","form":"form555","lead_name":"Sayt: {Mijoz}","fields":{"Mijoz":"contact.name","Aloqa":"contact.phone"},"defaults":{"tags":["sayt"]}}""", System.Text.Encoding.UTF8, "application/json"));

        foreach (var (language, title) in new[] { ("en", "Form sources"), ("ru", "Источники форм"), ("uz", "Forma manbalari") })
        {
            await site.Page.GotoAsync("/admin/#/sources");
            await site.Page.Locator("#language").SelectOptionAsync(language);
            await Expect(site.Page.Locator("h1")).ToHaveTextAsync(title);
            await site.Page.GetByRole(AriaRole.Button, new() { Name = language switch { "en" => "Edit", "ru" => "Изменить", _ => "Tahrirlash" }, Exact = true }).First.ClickAsync();
            var path = Path.Combine(folder, $"sources-{language}.png");
            await site.Page.ScreenshotAsync(new() { Path = path, FullPage = true });
            Assert.True(new FileInfo(path).Length > 10_000, path + " is too small to be a screenshot");
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gateway.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Gateway.slnx not found above " + AppContext.BaseDirectory);
    }
}
