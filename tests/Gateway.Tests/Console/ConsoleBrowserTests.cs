using System.Net;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gateway.Tests.AdminConsole;

// Issue 18: the console used as a person uses it, in chromium; every page also passes an axe scan.
public sealed class ConsoleBrowserTests
{
    [BrowserFact]
    public async Task Signing_in_with_the_admin_password_opens_the_overview()
    {
        await using var site = await ConsoleSite.StartAsync();

        await site.Page.GotoAsync("/admin/");
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Gateway admin sign-in");
        await site.AssertAccessibleAsync("sign-in page");
        await site.Page.GetByLabel("Admin password").FillAsync(ConsoleSite.Password);
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();

        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Overview");
        await Expect(site.Page.GetByRole(AriaRole.Heading, new() { Name = GatewayApp.Domain })).ToBeVisibleAsync();
        await site.AssertAccessibleAsync("overview");
    }

    [BrowserFact]
    public async Task Signing_out_ends_the_session_and_the_console_asks_for_the_password_again()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.SignInAsync();

        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();

        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Gateway admin sign-in");
        await site.Page.GotoAsync("/admin/#/leads");
        await Expect(site.Page.GetByLabel("Admin password")).ToBeVisibleAsync();
    }

    [BrowserFact]
    public async Task Wrong_passwords_are_refused_and_then_braked_even_for_the_right_one()
    {
        await using var site = await ConsoleSite.StartAsync(settings: new Dictionary<string, string?> { ["BAD_KEY_LIMIT"] = "3" });
        await site.Page.GotoAsync("/admin/login");
        for (var i = 0; i < 3; i++)
        {
            await site.Page.GetByLabel("Admin password").FillAsync("not-the-password-" + i);
            await site.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
            await Expect(site.Page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Sign-in failed: wrong password or key.");
        }

        await site.AssertAccessibleAsync("refused sign-in");
        await site.Page.GetByLabel("Admin password").FillAsync(ConsoleSite.Password);
        var braked = await site.Page.RunAndWaitForResponseAsync(
            () => site.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync(),
            response => response.Url.EndsWith("/admin/login", StringComparison.Ordinal) && response.Request.Method == "POST");

        Assert.Equal((int)HttpStatusCode.TooManyRequests, braked.Status);
        await Expect(site.Page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Too many failed sign-ins from this address: try again in 15 min.");
        await site.AssertAccessibleAsync("braked sign-in");
        Assert.DoesNotContain(await site.Page.Context.CookiesAsync(), c => c.Name == "gateway_admin");
    }

    [BrowserFact]
    public async Task Without_an_admin_password_the_first_run_page_says_how_to_set_one_and_an_admin_key_signs_in()
    {
        await using var site = await ConsoleSite.StartAsync(withPassword: false);

        await site.Page.GotoAsync("/admin/");

        await Expect(site.Page.GetByText("No admin password is set yet.")).ToContainTextAsync("ADMIN_PASSWORD=");
        await Expect(site.Page.GetByLabel("Admin password")).ToHaveCountAsync(0);
        await site.AssertAccessibleAsync("first-run page");
        await site.Page.GetByLabel("Admin API key").FillAsync(GatewayApp.ApiKey);
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in with the key" }).ClickAsync();
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Overview");
    }

    [BrowserFact]
    public async Task The_overview_shows_a_delivered_lead_in_todays_counts_and_the_sparkline()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.App.AuthorizeAsync();
        using var api = site.Api();
        await api.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.OK);

        await site.SignInAsync();

        var card = site.Page.Locator("section.card", new() { Has = site.Page.GetByRole(AriaRole.Heading, new() { Name = GatewayApp.Domain }) });
        await Expect(card.Locator("dt:has-text('Today') + dd")).ToHaveTextAsync("1 delivered, 0 failed");
        await Expect(card.Locator("dt:has-text('Connected') + dd")).ToHaveTextAsync("yes");
        await Expect(card.Locator("dt:has-text('Token') + dd")).ToHaveTextAsync("valid");
        await Expect(card.GetByRole(AriaRole.Img)).ToHaveAttributeAsync("aria-label", $"{GatewayApp.Domain}: 1 leads in the last 24 hours, 0 failed");
    }

    [BrowserFact]
    public async Task An_account_is_paused_and_resumed_from_the_accounts_page()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.SignInAsync();
        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        await site.AssertAccessibleAsync("accounts");
        using var api = site.Api();

        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"Delivery to {GatewayApp.Domain} paused.");
        var paused = await ApiAssert.SuccessDataAsync(await api.GetAsync("/api/v1/diagnostics/queue"));
        Assert.Equal("paused_by_admin", (string?)paused["pause_reason"]);

        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"Delivery to {GatewayApp.Domain} resumed.");
        var resumed = await ApiAssert.SuccessDataAsync(await api.GetAsync("/api/v1/diagnostics/queue"));
        Assert.Null((string?)resumed["pause_reason"]);
    }

    [BrowserFact]
    public async Task A_failed_lead_is_found_by_status_and_its_trace_shows_amocrms_error()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.App.AuthorizeAsync();
        using var api = site.Api();
        await api.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.OK);
        site.Amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, RefusedAnswer, "application/problem+json");
        var bad = await api.PostQueuedAsync(OutboxTestKit.Lead(2), HttpStatusCode.BadRequest);
        await site.SignInAsync();

        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Leads" }).ClickAsync();
        await site.Page.GetByLabel("Status").SelectOptionAsync("failed");
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();

        var rows = site.Page.Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(1);
        await site.AssertAccessibleAsync("leads");
        await rows.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync($"Lead #{bad}");
        await Expect(site.Page.Locator("dt:has-text('Status') + dd")).ToHaveTextAsync("failed");
        await Expect(site.Page.Locator("pre").First).ToContainTextAsync("NotSupportedChoice");
        // The submission's texts are masked: the phone number never reaches the page.
        await Expect(site.Page.Locator("main")).Not.ToContainTextAsync("+998900000002");
        await site.AssertAccessibleAsync("lead trace");
    }

    [BrowserFact]
    public async Task Replaying_a_dead_letter_from_its_trace_delivers_it()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.App.AuthorizeAsync();
        using var api = site.Api();
        site.Amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, RefusedAnswer, "application/problem+json");
        var id = await api.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.BadRequest);
        await site.SignInAsync();

        await site.Page.GotoAsync($"/admin/#/lead/{id}");
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Replay" }).ClickAsync();

        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"Lead #{id} queued for another delivery.");
        await Eventually.TrueAsync(async () => (string?)(await api.LeadAsync(id))["status"] == "delivered", "the replayed lead delivered");
        await site.Page.ReloadAsync();
        await Expect(site.Page.Locator("dt:has-text('Status') + dd")).ToHaveTextAsync("delivered");
    }

    [BrowserFact]
    public async Task The_language_follows_the_browser_and_a_switch_to_Uzbek_or_Russian_is_remembered()
    {
        await using var site = await ConsoleSite.StartAsync(locale: "ru-RU");
        await site.Page.GotoAsync("/admin/");
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Вход в шлюз");
        await site.Page.GetByLabel("Пароль администратора").FillAsync(ConsoleSite.Password);
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Войти", Exact = true }).ClickAsync();
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Обзор");

        await site.Page.GetByLabel("Язык").SelectOptionAsync("uz");
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Umumiy ko‘rinish");
        await Expect(site.Page.Locator("html")).ToHaveAttributeAsync("lang", "uz");
        await site.AssertAccessibleAsync("overview in Uzbek");

        await site.Page.ReloadAsync();
        await Expect(site.Page.GetByRole(AriaRole.Link, new() { Name = "Sozlamalar" })).ToBeVisibleAsync();
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Chiqish" }).ClickAsync();
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Shlyuzga kirish");
    }

    [BrowserFact]
    public async Task The_settings_page_shows_the_configuration_without_its_secrets()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.SignInAsync();

        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Settings" }).ClickAsync();

        await Expect(site.Page.Locator("dt:has-text('Client secret set') + dd")).ToHaveTextAsync("yes");
        await Expect(site.Page.Locator("dt:has-text('Database') + dd")).ToHaveTextAsync(TestDatabase.IsPostgres ? "postgresql" : "sqlite");
        var text = await site.Page.Locator("main").InnerTextAsync();
        Assert.DoesNotContain(site.Amo.Options.ClientSecret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(GatewayApp.ApiKey, text, StringComparison.Ordinal);
        await site.AssertAccessibleAsync("settings");
    }

    [BrowserFact]
    public async Task The_overview_fits_a_phone_375_pixels_wide()
    {
        await using var site = await ConsoleSite.StartAsync(width: 375);
        await site.SignInAsync();

        var overflow = await site.Page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");

        Assert.True(overflow <= 0, $"the page scrolls sideways by {overflow} px at 375 px");
        await site.AssertAccessibleAsync("overview at 375 px");
    }

    // Each main page in each language renders its own title and is photographed: into docs/console (the README's
    // screenshots) when GATEWAY_SCREENSHOTS is set, else into a temporary folder.
    [BrowserFact]
    public async Task The_main_pages_render_in_every_language_and_can_be_photographed_for_the_docs()
    {
        await using var site = await ConsoleSite.StartAsync(width: 1000);
        await site.App.AuthorizeAsync();
        using var api = site.Api();
        await api.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.OK);
        await api.PostQueuedAsync(OutboxTestKit.Lead(2), HttpStatusCode.OK);
        site.Amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, RefusedAnswer, "application/problem+json");
        var failed = await api.PostQueuedAsync(OutboxTestKit.Lead(3), HttpStatusCode.BadRequest);
        var folder = ConsoleSite.ScreenshotFolder();
        await site.SignInAsync();

        var shots = new (string Language, string Hash, string Title, string[] Files)[]
        {
            ("en", "#/overview", "Overview", ["overview.png", "overview-en.png"]),
            ("en", $"#/lead/{failed}", $"Lead #{failed}", ["lead-trace.png"]),
            ("uz", "#/leads", "Arizalar", ["leads-uz.png"]),
            ("ru", "#/accounts", "Аккаунты", ["accounts-ru.png"]),
            ("ru", "#/overview", "Обзор", ["overview-ru.png"]),
            ("ru", "#/settings", "Настройки", []),
            ("uz", "#/overview", "Umumiy ko‘rinish", ["overview-uz.png"]),
        };
        foreach (var (language, hash, title, files) in shots)
        {
            await site.Page.GetByRole(AriaRole.Combobox).First.SelectOptionAsync(language);
            await site.Page.GotoAsync("/admin/" + hash);
            await Expect(site.Page.Locator("h1")).ToHaveTextAsync(title);
            await site.Page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            foreach (var file in files)
            {
                await PhotographAsync(site, Path.Combine(folder, file));
            }
        }

        await site.Page.GetByRole(AriaRole.Combobox).First.SelectOptionAsync("en");
        await site.Page.SetViewportSizeAsync(375, 740);
        await site.Page.GotoAsync("/admin/#/overview");
        await Expect(site.Page.Locator("h1")).ToHaveTextAsync("Overview");
        await PhotographAsync(site, Path.Combine(folder, "overview-phone.png"));
    }

    private static async Task PhotographAsync(ConsoleSite site, string path)
    {
        await site.Page.ScreenshotAsync(new() { Path = path });
        Assert.True(new FileInfo(path).Length > 10_000, path + " is too small to be a screenshot");
    }

    private const string RefusedAnswer =
        """{"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"custom_fields_values.0.field_id","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}""";
}
