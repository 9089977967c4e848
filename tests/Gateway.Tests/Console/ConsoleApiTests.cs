using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Emulator;
using Gateway.AdminConsole;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Gateway.Tests.Security;

namespace Gateway.Tests.AdminConsole;

// Issue 18: the console's page, files and JSON API over HTTP, without a browser.
public sealed partial class ConsoleApiTests
{
    private const string BotKey = "bot-key-bbbbbbbbbbbbbbbbbb";

    private static async Task<(AmoEmulator Amo, GatewayApp App)> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("bot", BotKey));
        return (amo, new GatewayApp(amo, dataDir: dir, settings: settings));
    }

    [Fact]
    public async Task The_console_page_sends_a_signed_out_browser_to_the_sign_in_page()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;

        var response = await app.CreateAnonymousClient().GetAsync("/admin/");

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/admin/login?next=%2Fadmin%2F", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task The_console_page_and_its_files_come_from_the_assembly_under_a_strict_policy_and_no_store()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var admin = app.CreateKeyedClient();

        foreach (var (path, type) in new[] { ("/admin/", "text/html"), ("/admin/assets/console.js", "text/javascript"), ("/admin/assets/console.css", "text/css"), ("/admin/assets/i18n/uz.json", "application/json") })
        {
            var response = await admin.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            var policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
            Assert.True(response.Headers.CacheControl?.NoStore, path + " is not no-store");
        }

        var html = await admin.GetStringAsync("/admin/");
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
        // No CDN: nothing is loaded from anywhere but this gateway.
        Assert.DoesNotContain("http", html, StringComparison.Ordinal);
        await ApiAssert.FailureAsync(await admin.GetAsync("/admin/assets/missing.js"), HttpStatusCode.NotFound, "Not found");
    }

    [Fact]
    public async Task Every_catalogue_has_the_same_keys_and_every_key_the_console_uses()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        var assets = app.Get<ConsoleAssets>();
        string Text(string path) => System.Text.Encoding.UTF8.GetString(assets.Find(path)!.Content);
        var english = JsonNode.Parse(Text("i18n/en.json"))!.AsObject().Select(p => p.Key).ToHashSet();

        foreach (var language in new[] { "uz", "ru" })
        {
            var keys = JsonNode.Parse(Text($"i18n/{language}.json"))!.AsObject().Select(p => p.Key).ToHashSet();
            Assert.True(keys.SetEquals(english), $"{language}: missing {string.Join(", ", english.Except(keys))}; extra {string.Join(", ", keys.Except(english))}");
            Assert.All(JsonNode.Parse(Text($"i18n/{language}.json"))!.AsObject(), p => Assert.False(string.IsNullOrWhiteSpace((string?)p.Value), $"{language}: {p.Key} is empty"));
        }

        var used = assets.Paths.Where(p => p.EndsWith(".js", StringComparison.Ordinal)).SelectMany(p => KeyLiteral().Matches(Text(p))).Select(m => m.Groups[1].Value)
            .Concat(DataKey().Matches(Text("index.html")).Select(m => m.Groups[1].Value))
            .Concat(new[] { "queued", "delivering", "delivered", "failed", "pending" }.Select(s => "status." + s))
            .Concat(new[] { "none", "missing", "valid", "expiring", "expired", "reauthorization_required" }.Select(s => "token." + s))
            .Concat(new[] { "paused", "delivering", "waiting_for_token" }.Select(s => "state." + s))
            .Concat(new[] { "leads", "read", "admin" }.Select(s => "keys.scope." + s))
            .Concat(new[] { "env", "file", "database" }.Select(s => "keys.origin." + s))
            .Concat(new[] { "tilda", "elementor", "cf7", "form" }.Select(s => "sources.tool." + s))
            .Concat(new[] { "received", "accepted", "rejected" }.Select(s => "sources.status." + s))
            .Concat(new[] { "accepted", "rejected" }.Select(s => "sources.would_be." + s))
            .Concat(new[] { "contact.name", "contact.phone", "contact.email", "lead.price", "lead.field", "contact.field", "tag", "utm", "note", "ignore" }.Select(s => "sources.target." + s))
            .Distinct().ToList();
        Assert.True(used.Count > 80, "too few keys found: the patterns no longer match the script");
        Assert.Empty(used.Except(english));
    }

    [Fact]
    public async Task The_console_api_needs_the_admin_scope()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var bot = app.CreateAnonymousClient();
        bot.DefaultRequestHeaders.Add("X-API-KEY", BotKey);
        using var nobody = app.CreateAnonymousClient();

        foreach (var path in new[] { "/api/v1/admin/overview", "/api/v1/admin/leads", "/api/v1/admin/leads/1", "/api/v1/admin/about" })
        {
            await ApiAssert.FailureAsync(await bot.GetAsync(path), HttpStatusCode.Forbidden, "Forbidden: this needs the \"admin\" scope");
            Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.GetAsync(path)).StatusCode);
        }
    }

    [Fact]
    public async Task The_overview_counts_todays_delivered_and_failed_leads_and_the_last_24_hours_by_hour()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        await client.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.OK);
        await client.PostQueuedAsync(OutboxTestKit.Lead(2), HttpStatusCode.OK);
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, Refused, "application/problem+json");
        await client.PostQueuedAsync(OutboxTestKit.Lead(3), HttpStatusCode.BadRequest);

        var data = await ApiAssert.SuccessDataAsync(await client.GetAsync("/api/v1/admin/overview"));

        var account = Assert.Single(data["accounts"]!.AsArray())!;
        Assert.Equal(GatewayApp.Domain, (string?)account["domain"]);
        Assert.True((bool?)account["connected"]);
        Assert.Equal("valid", (string?)account["token"]!["state"]);
        ApiAssert.SameJson("""{"received":3,"delivered":2,"failed":1}""", account["today"]);
        ApiAssert.SameJson("""{"received":3,"delivered":2,"failed":1}""", account["week"]);
        Assert.Equal(0, (long?)account["queue"]!["depth"]);
        var hours = account["last_24h"]!;
        Assert.Equal(24, hours["received"]!.AsArray().Count);
        Assert.Equal(3, hours["received"]!.AsArray().Sum(n => (long)n!));
        Assert.Equal(1, hours["failed"]!.AsArray().Sum(n => (long)n!));
        Assert.Equal(3, (long?)hours["received"]![23]);
        Assert.DoesNotContain(amo.State.IssuedSecrets, s => data.ToJsonString().Contains(s, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Leads_are_found_by_status_source_and_date_newest_first_and_a_bad_status_is_a_422()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();
        using var bot = app.CreateAnonymousClient();
        bot.DefaultRequestHeaders.Add("X-API-KEY", BotKey);
        var first = await admin.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.OK);
        var second = await bot.PostQueuedAsync(OutboxTestKit.Lead(2), HttpStatusCode.OK);
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, Refused, "application/problem+json");
        var failed = await bot.PostQueuedAsync(OutboxTestKit.Lead(3), HttpStatusCode.BadRequest);

        async Task<long[]> FindAsync(string query) =>
            [.. (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/leads" + query)))["leads"]!.AsArray().Select(l => (long)l!["id"]!)];

        Assert.Equal([failed, second, first], await FindAsync(""));
        Assert.Equal([failed], await FindAsync("?status=failed"));
        Assert.Equal([failed, second], await FindAsync("?source=bot"));
        Assert.Equal([second], await FindAsync("?source=bot&status=delivered"));
        Assert.Empty(await FindAsync($"?to={TimeProvider.System.GetUtcNow().AddDays(-1).ToUnixTimeSeconds()}"));
        Assert.Equal([second, first], await FindAsync($"?before={failed}"));
        var sources = (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/leads")))["sources"]!.AsArray().Select(s => (string?)s);
        Assert.Equal(["bot", "default"], sources);
        var details = await ApiAssert.FailureAsync(await admin.GetAsync("/api/v1/admin/leads?status=lost&from=yesterday"), HttpStatusCode.UnprocessableEntity, "Validation failed");
        Assert.NotNull(details!["status"]);
        Assert.NotNull(details["from"]);
    }

    [Fact]
    public async Task A_lead_trace_shows_amocrms_answer_and_ids_with_links_and_the_submission_masked()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();
        var id = await admin.PostQueuedAsync("""{"lead":{"name":"Aziza Karimova","price":5000},"contact":{"phone":"+998901234567","email":"aziza@example.uz"}}""", HttpStatusCode.OK);

        var trace = await ApiAssert.SuccessDataAsync(await admin.GetAsync($"/api/v1/admin/leads/{id}"));

        Assert.Equal("delivered", (string?)trace["status"]);
        Assert.Equal("default", (string?)trace["source"]);
        Assert.Equal($"https://{GatewayApp.Domain}/leads/detail/{(long)trace["lead_id"]!}", (string?)trace["links"]!["lead"]);
        Assert.Equal($"https://{GatewayApp.Domain}/contacts/detail/{(long)trace["contact_id"]!}", (string?)trace["links"]!["contact"]);
        Assert.NotNull(trace["amo_answer"]);
        Assert.Equal(5000, (long?)trace["payload"]!["lead"]!["price"]);
        Assert.Equal("A••••••••••••a", (string?)trace["payload"]!["lead"]!["name"]);
        var text = trace.ToJsonString();
        Assert.DoesNotContain("1234567", text, StringComparison.Ordinal);
        Assert.DoesNotContain("aziza@", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Karimova", text, StringComparison.Ordinal);
        await ApiAssert.FailureAsync(await admin.GetAsync($"/api/v1/admin/leads/{id + 100}"), HttpStatusCode.NotFound, $"Lead {id + 100} not found");
    }

    [Fact]
    public async Task The_sign_in_page_speaks_the_browsers_language_and_remembers_a_picked_one()
    {
        var (amo, app) = await StartAsync(new Dictionary<string, string?> { ["ADMIN_PASSWORD"] = ConsoleSite.Password });
        await using var _ = amo;
        await using var __ = app;
        using var browser = app.CreateAnonymousClient();

        using var russian = new HttpRequestMessage(HttpMethod.Get, "/admin/login");
        russian.Headers.Add("Accept-Language", "de-DE, ru;q=0.8, en;q=0.5");
        Assert.Contains("<title>Вход в шлюз</title>", await (await browser.SendAsync(russian)).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var picked = await browser.GetAsync("/admin/login?lang=uz");
        var cookie = Assert.Single(picked.Headers.GetValues("Set-Cookie"), c => c.StartsWith("gateway_lang=uz", StringComparison.Ordinal));
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<html lang=\"uz\">", await picked.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var remembered = new HttpRequestMessage(HttpMethod.Get, "/admin/login");
        remembered.Headers.Add("Accept-Language", "ru");
        remembered.Headers.Add("Cookie", "gateway_lang=uz");
        Assert.Contains("Shlyuzga kirish", await (await browser.SendAsync(remembered)).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private const string Refused =
        """{"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"custom_fields_values.0.field_id","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}""";

    [GeneratedRegex(@"'([a-z_]+(?:\.[a-z_0-9]+)+)'")]
    private static partial Regex KeyLiteral();

    [GeneratedRegex("data-i18n(?:-label)?=\"([a-z_.0-9]+)\"")]
    private static partial Regex DataKey();
}
