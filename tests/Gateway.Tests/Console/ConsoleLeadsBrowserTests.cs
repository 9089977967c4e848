using System.Net;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Gateway.Tests.Sources;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gateway.Tests.AdminConsole;

// Issue 18's Leads page in chromium: find a person's lead, read its whole trace, replay many at once.
public sealed class ConsoleLeadsBrowserTests
{
    private const string RefusedAnswer =
        """{"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"custom_fields_values.0.field_id","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}""";

    [BrowserFact]
    public async Task A_lead_is_found_by_the_phone_as_a_person_types_it_and_its_trace_lists_every_amocrm_call_in_the_accounts_time()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.App.AuthorizeAsync();
        using var api = site.Api();
        await api.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.OK);
        var id = await api.PostQueuedAsync("""{"lead":{"name":"Sofa order"},"contact":{"name":"Aziza Karimova","phone":"+998901234567"}}""", HttpStatusCode.OK);
        await Eventually.TrueAsync(async () => (string?)(await api.LeadAsync(id))["note_status"] is "delivered" or null, "the note settled");
        await site.SignInAsync();

        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Leads" }).ClickAsync();
        await site.Page.GetByLabel("Phone").FillAsync("90 123 45 67");
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();

        var rows = site.Page.GetByRole(AriaRole.Region, new() { Name = "Leads found" }).Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(site.Page.GetByText("Times are shown in the account's time zone, Europe/Moscow.")).ToBeVisibleAsync();
        await site.AssertAccessibleAsync("leads found by phone");
        await rows.GetByRole(AriaRole.Link).ClickAsync();

        await Expect(site.Page.Locator("h1")).ToHaveTextAsync($"Lead #{id}");
        var calls = site.Page.GetByRole(AriaRole.Region, new() { Name = "amoCRM calls" }).Locator("tbody tr");
        await Expect(calls.First).ToContainTextAsync("POST /api/v4/leads/unsorted/forms");
        await Expect(calls.First.Locator("td").Nth(3)).ToHaveTextAsync("200");
        var at = (long)(await ApiAssert.SuccessDataAsync(await api.GetAsync($"/api/v1/admin/leads/{id}")))["calls"]![0]!["at"]!;
        await Expect(calls.First.Locator("td").First).ToHaveTextAsync(InMoscow(at, "{0:MMM} {0:%d}, {0:yyyy}, {0:HH:mm}"));
        await Expect(site.Page.GetByRole(AriaRole.Heading, new() { Name = "The body sent to amoCRM" })).ToBeVisibleAsync();
        await Expect(site.Page.GetByRole(AriaRole.Link, new() { Name = "" + (long)(await api.LeadAsync(id))["lead_id"]! })).ToHaveAttributeAsync("href", new System.Text.RegularExpressions.Regex($"^https://{GatewayApp.Domain}/leads/detail/\\d+$"));
        await Expect(site.Page.Locator("main")).Not.ToContainTextAsync("Karimova");
        await Expect(site.Page.Locator("main")).Not.ToContainTextAsync("1234567");
        await site.AssertAccessibleAsync("lead trace with calls");
    }

    [BrowserFact]
    public async Task Dead_letters_ticked_on_the_leads_page_are_replayed_in_one_action_and_delivered_once_amocrm_takes_them()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.App.AuthorizeAsync();
        using var api = site.Api();
        site.Amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, RefusedAnswer, "application/problem+json");
        var first = await api.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.BadRequest);
        site.Amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, RefusedAnswer, "application/problem+json");
        var second = await api.PostQueuedAsync(OutboxTestKit.Lead(2), HttpStatusCode.BadRequest);
        await site.SignInAsync();

        await site.Page.GotoAsync("/admin/#/leads?status=failed");
        await site.Page.GetByLabel($"Select lead #{first}").CheckAsync();
        await site.Page.GetByLabel($"Select lead #{second}").CheckAsync();
        await site.AssertAccessibleAsync("failed leads ticked");
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Replay selected leads" }).ClickAsync();

        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync("2 of 2 leads queued for another delivery.");
        await Eventually.TrueAsync(() => api.AllDeliveredAsync([first, second]), "both replayed leads delivered");
        await site.Page.GotoAsync($"/admin/#/lead/{first}");
        var calls = site.Page.GetByRole(AriaRole.Region, new() { Name = "amoCRM calls" }).Locator("tbody tr");
        await Expect(calls.Nth(0)).ToContainTextAsync("The value you selected is not a valid choice.");
        await Expect(calls.Nth(0).Locator("td").Nth(3)).ToHaveTextAsync("400");
        await Expect(calls.Nth(1).Locator("td").Nth(3)).ToHaveTextAsync("200");
    }

    [BrowserFact]
    public async Task A_rejected_submission_is_replayed_from_the_leads_page_after_its_profile_is_fixed()
    {
        await using var site = await ConsoleSite.StartAsync();
        await site.App.AuthorizeAsync();
        using var api = site.Api();
        using var tilda = new HttpClient { BaseAddress = site.Address };
        await tilda.PostAsync($"/hooks/tilda/{GatewayApp.ApiKey}", FormSamples.Form("Mijoz=Sardor&Aloqa=%2B998+90+222+33+44&tranid=467251%3A8442999&formid=form555"));
        await File.WriteAllTextAsync(Path.Combine(site.App.DataDir, "sources.json"), """
            {"profiles": [{"source": "tilda", "form": "form555", "fields": {"Mijoz": "contact.name", "Aloqa": "contact.phone"}}]}
            """);
        await Eventually.TrueAsync(() => site.App.Get<Gateway.Sources.SourceProfiles>().Current.Count == 1, "the fixed profile loaded");
        await site.SignInAsync();

        await site.Page.GetByRole(AriaRole.Link, new() { Name = "Leads" }).ClickAsync();
        var rejected = site.Page.GetByRole(AriaRole.Region, new() { Name = "Rejected form submissions" });
        await Expect(rejected.Locator("tbody tr")).ToHaveCountAsync(1);
        await rejected.GetByRole(AriaRole.Checkbox).CheckAsync();
        await site.Page.GetByRole(AriaRole.Button, new() { Name = "Replay selected submissions" }).ClickAsync();

        await Expect(site.Page.GetByRole(AriaRole.Status)).ToHaveTextAsync("1 of 1 submissions became leads and are queued.");
        await Expect(site.Page.GetByText("No rejected form submissions.")).ToBeVisibleAsync();
        await Eventually.TrueAsync(() => site.Amo.State.Unsorted.Count == 1, "the lead in amoCRM");
    }
    // A refused-then-replayed lead's trace in each language, photographed (the README's trace-{en,ru,uz}.png when
    // GATEWAY_SCREENSHOTS is set, see ConsoleSite.ScreenshotFolder).
    [BrowserFact]
    public async Task A_lead_trace_renders_in_every_language_and_can_be_photographed_for_the_docs()
    {
        await using var site = await ConsoleSite.StartAsync(width: 1100);
        await site.App.AuthorizeAsync();
        using var api = site.Api();
        site.Amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, RefusedAnswer, "application/problem+json");
        var id = await api.PostQueuedAsync("""{"lead":{"name":"Divan buyurtmasi","price":5000},"contact":{"name":"Aziza Karimova","phone":"+998901234567","email":"aziza@example.uz"},"comment":"Kechqurun qo'ng'iroq qiling"}""", HttpStatusCode.BadRequest);
        await ApiAssert.SuccessDataAsync(await api.PostAsync($"/api/v1/leads/{id}/retry", null));
        await Eventually.TrueAsync(async () => (string?)(await api.LeadAsync(id))["note_status"] == "delivered", "the lead and its note delivered");
        var folder = ConsoleSite.ScreenshotFolder();
        await site.SignInAsync();

        foreach (var (language, title, calls) in new[] { ("en", $"Lead #{id}", "amoCRM calls"), ("ru", $"Заявка №{id}", "Запросы к amoCRM"), ("uz", $"Ariza №{id}", "amoCRM so‘rovlari") })
        {
            await site.Page.GetByRole(AriaRole.Combobox).First.SelectOptionAsync(language);
            await site.Page.GotoAsync($"/admin/#/lead/{id}");
            await Expect(site.Page.Locator("h1")).ToHaveTextAsync(title);
            await Expect(site.Page.GetByRole(AriaRole.Region, new() { Name = calls }).Locator("tbody tr")).ToHaveCountAsync(3);
            if (language == "uz")
            {
                // Chromium's own Uzbek dates read "2026 M12 1": the console's catalogue names the month.
                var at = (long)(await ApiAssert.SuccessDataAsync(await api.GetAsync($"/api/v1/admin/leads/{id}")))["calls"]![0]!["at"]!;
                var month = new[] { "yanvar", "fevral", "mart", "aprel", "may", "iyun", "iyul", "avgust", "sentabr", "oktabr", "noyabr", "dekabr" };
                var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(at), TimeZoneInfo.FindSystemTimeZoneById("Europe/Moscow"));
                await Expect(site.Page.GetByRole(AriaRole.Region, new() { Name = calls }).Locator("tbody tr").First.Locator("td").First)
                    .ToHaveTextAsync($"{local.Day}-{month[local.Month - 1]}, {local.Year}, {local:HH:mm}");
            }

            await site.Page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            await site.AssertAccessibleAsync("lead trace in " + language);
            await site.Page.ScreenshotAsync(new() { Path = Path.Combine(folder, $"trace-{language}.png"), FullPage = true });
        }
    }

    // A time as the console shows it in the emulator account's zone (Europe/Moscow, three hours from the browser's UTC).
    private static string InMoscow(long unix, string format) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, format, TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(unix), TimeZoneInfo.FindSystemTimeZoneById("Europe/Moscow")));
}
