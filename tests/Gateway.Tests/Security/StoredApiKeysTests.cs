using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Gateway.Tests.Security;

// Issue 18, the Keys page's API: /api/v1/admin/keys creates keys stored in the database beside API_KEYS_FILE (their
// SHA-256 only), shows a new key once, revokes it on every instance within a second, lists the last use.
public sealed class StoredApiKeysTests
{
    private const string BotKey = "bot-key-bbbbbbbbbbbbbbbbbb";
    private const string Password = "keys-test-password-0123";

    private static async Task<(AmoEmulator Amo, GatewayApp App)> StartAsync(TestTimeProvider? clock = null, string? dataDir = null)
    {
        var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = dataDir ?? Directory.CreateTempSubdirectory("gateway-keys-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("bot", BotKey));
        return (amo, new GatewayApp(amo, clock, dir, new Dictionary<string, string?> { ["ADMIN_PASSWORD"] = Password }));
    }

    private static async Task<string> CreateAsync(GatewayApp app, HttpClient admin, string body)
    {
        var created = await ApiAssert.EnvelopeAsync(await admin.PostJsonAsync("/api/v1/admin/keys", body), HttpStatusCode.Created);
        var key = (string)created["data"]!["key"]!;
        app.MadeSecrets.Add(key);
        return key;
    }

    private static HttpClient KeyClient(GatewayApp app, string key)
    {
        var client = app.CreateAnonymousClient();
        client.DefaultRequestHeaders.Add("X-API-KEY", key);
        return client;
    }

    private static async Task<JsonObject> ListedAsync(HttpClient admin, string name) =>
        (JsonObject)(await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/keys")))["keys"]!.AsArray().Single(k => (string?)k!["name"] == name)!;

    [Fact]
    public async Task The_keys_routes_need_the_admin_scope()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var bot = KeyClient(app, BotKey);
        using var nobody = app.CreateAnonymousClient();

        foreach (var (method, path) in new[] { (HttpMethod.Get, "/api/v1/admin/keys"), (HttpMethod.Post, "/api/v1/admin/keys"), (HttpMethod.Delete, "/api/v1/admin/keys/bot") })
        {
            await ApiAssert.FailureAsync(await bot.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent("""{"name":"x"}""", System.Text.Encoding.UTF8, "application/json") }), HttpStatusCode.Forbidden, "Forbidden: this needs the \"admin\" scope");
            Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.SendAsync(new HttpRequestMessage(method, path))).StatusCode);
        }
    }

    [Fact]
    public async Task A_created_key_sends_leads_at_once_with_its_defaults_and_its_value_is_in_no_list_and_not_stored()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();

        var key = await CreateAsync(app, admin, """{"name":"landing","scopes":["leads"],"source":"landing page","tags":["web"]}""");
        using var landing = KeyClient(app, key);
        var response = await landing.PostLeadAsync(OutboxTestKit.Lead(1));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = amo.State.Unsorted.Single().Item;
        Assert.Equal("landing page", (string?)item["source_name"]);
        ApiAssert.SameJson("""[{"name":"web"}]""", item["_embedded"]!["leads"]![0]!["_embedded"]!["tags"]);
        var list = (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/keys"))).ToJsonString();
        Assert.DoesNotContain(key, list, StringComparison.Ordinal);
        Assert.DoesNotContain(SecurityTestKit.Sha256(key), list, StringComparison.Ordinal);
        var listed = await ListedAsync(admin, "landing");
        Assert.Equal("database", (string?)listed["origin"]);
        Assert.True((bool?)listed["revocable"]);
        ApiAssert.SameJson("""["leads"]""", listed["scopes"]);
        Assert.Equal("file", (string?)(await ListedAsync(admin, "bot"))["origin"]);
        Assert.False((bool?)(await ListedAsync(admin, "default"))["revocable"]);
        Assert.All(await TestDatabase.RawContentsAsync(app), raw => Assert.DoesNotContain(key, raw, StringComparison.Ordinal));
        // A key for leads only reads nothing back.
        Assert.Equal(HttpStatusCode.Forbidden, (await landing.GetAsync("/api/v1/admin/keys")).StatusCode);
    }

    [Fact]
    public async Task A_revoked_key_is_refused_at_once_here_and_within_a_second_on_another_instance()
    {
        var dataDir = Directory.CreateTempSubdirectory("gateway-keys-").FullName;
        var otherClock = new TestTimeProvider();
        var (amo, first) = await StartAsync(dataDir: dataDir);
        await using var _ = amo;
        await using var __ = first;
        await using var second = new GatewayApp(amo, otherClock, dataDir);
        using var admin = first.CreateKeyedClient();
        using var otherAdmin = second.CreateKeyedClient();
        Assert.Equal(HttpStatusCode.OK, (await otherAdmin.GetAsync("/api/v1/admin/keys")).StatusCode);
        var key = await CreateAsync(first, admin, """{"name":"reader","scopes":["read"]}""");
        second.MadeSecrets.Add(key);
        using var here = KeyClient(first, key);
        using var there = KeyClient(second, key);
        otherClock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await there.GetAsync("/api/v1/leads/999999")).StatusCode != HttpStatusCode.Unauthorized, "the other instance accepting the new key");

        await ApiAssert.EnvelopeAsync(await admin.DeleteAsync("/api/v1/admin/keys/reader"), HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.Unauthorized, (await here.GetAsync("/api/v1/leads/999999")).StatusCode);
        otherClock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await there.GetAsync("/api/v1/leads/999999")).StatusCode == HttpStatusCode.Unauthorized, "the other instance refusing the revoked key");
        await ApiAssert.FailureAsync(await admin.DeleteAsync("/api/v1/admin/keys/reader"), HttpStatusCode.NotFound, "API key reader not found");
    }

    [Fact]
    public async Task A_file_keys_name_is_a_409_file_keys_are_not_revoked_here_and_a_bad_key_is_a_422()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var admin = app.CreateKeyedClient();
        await CreateAsync(app, admin, """{"name":"twice"}""");

        await ApiAssert.FailureAsync(await admin.PostJsonAsync("/api/v1/admin/keys", """{"name":"bot"}"""), HttpStatusCode.Conflict, "API key bot exists already");
        await ApiAssert.FailureAsync(await admin.PostJsonAsync("/api/v1/admin/keys", """{"name":"twice"}"""), HttpStatusCode.Conflict, "API key twice exists already");
        await ApiAssert.FailureAsync(await admin.DeleteAsync("/api/v1/admin/keys/bot"), HttpStatusCode.Conflict, "API key bot is configured in API_KEYS_FILE; remove it there");
        await ApiAssert.FailureAsync(await admin.DeleteAsync("/api/v1/admin/keys/default"), HttpStatusCode.Conflict, "API key default is configured in .env (API_KEY); remove it there");
        foreach (var bad in new[] { """{"name":"default"}""", """{"name":"x","scopes":["root"]}""", """{"name":"x","sha256":"00"}""", """{"name":"x","callback_url":"https://a.example"}""", """{"name":"x","account":"elsewhere.amocrm.ru"}""", """{"name":"x y"}""", "[]" })
        {
            var details = await ApiAssert.FailureAsync(await admin.PostJsonAsync("/api/v1/admin/keys", bad), HttpStatusCode.UnprocessableEntity, "Validation failed");
            Assert.NotNull(details!["key"]);
        }
    }

    [Fact]
    public async Task A_keys_or_sources_change_in_an_admin_session_without_the_anti_forgery_header_is_refused()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var browser = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        var login = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/admin/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["password"] = Password }),
            Headers = { { "Origin", "http://localhost" } },
        });
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("gateway_admin=", StringComparison.Ordinal)).Split(';')[0];
        HttpRequestMessage Request(HttpMethod method, string path, string? csrf)
        {
            var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? new StringContent("""{"name":"from-session"}""", System.Text.Encoding.UTF8, "application/json") : null };
            request.Headers.Add("Cookie", cookie);
            if (csrf is not null)
            {
                request.Headers.Add("X-Gateway-Csrf", csrf);
            }

            return request;
        }

        var csrf = (string)(await ApiAssert.SuccessDataAsync(await browser.SendAsync(Request(HttpMethod.Get, "/api/v1/admin/session", null))))["csrf_token"]!;

        await ApiAssert.FailureAsync(await browser.SendAsync(Request(HttpMethod.Post, "/api/v1/admin/keys", null)), HttpStatusCode.Forbidden, "Forbidden: a change made in an admin session needs the X-Gateway-Csrf header");
        var created = await ApiAssert.EnvelopeAsync(await browser.SendAsync(Request(HttpMethod.Post, "/api/v1/admin/keys", csrf)), HttpStatusCode.Created);
        app.MadeSecrets.Add((string)created["data"]!["key"]!);
        await ApiAssert.FailureAsync(await browser.SendAsync(Request(HttpMethod.Delete, "/api/v1/admin/keys/from-session", null)), HttpStatusCode.Forbidden, "Forbidden: a change made in an admin session needs the X-Gateway-Csrf header");
        await ApiAssert.EnvelopeAsync(await browser.SendAsync(Request(HttpMethod.Delete, "/api/v1/admin/keys/from-session", csrf)), HttpStatusCode.OK);
        foreach (var (method, path) in new[] { (HttpMethod.Put, "/api/v1/admin/sources/profiles"), (HttpMethod.Delete, "/api/v1/admin/sources/profiles?source=form"), (HttpMethod.Post, "/api/v1/admin/sources/preview") })
        {
            var write = Request(method, path, null);
            write.Content = new StringContent("""{"source":"form","fields":{}}""", System.Text.Encoding.UTF8, "application/json");
            await ApiAssert.FailureAsync(await browser.SendAsync(write), HttpStatusCode.Forbidden, "Forbidden: a change made in an admin session needs the X-Gateway-Csrf header");
        }
    }

    [Fact]
    public async Task A_keys_last_use_is_written_at_most_once_a_minute()
    {
        var clock = new TestTimeProvider();
        var (amo, app) = await StartAsync(clock);
        await using var _ = amo;
        await using var __ = app;
        using var admin = app.CreateKeyedClient();
        var key = await CreateAsync(app, admin, """{"name":"reader","scopes":["read"]}""");
        using var reader = KeyClient(app, key);
        Assert.Null((await ListedAsync(admin, "reader"))["last_used_at"]);
        var firstUse = clock.GetUtcNow().ToUnixTimeSeconds();

        await reader.GetAsync("/api/v1/leads/999999");
        await Eventually.TrueAsync(async () => (long?)(await ListedAsync(admin, "reader"))["last_used_at"] == firstUse, "the first use written");
        clock.Advance(TimeSpan.FromSeconds(59));
        await reader.GetAsync("/api/v1/leads/999999");
        Assert.Equal(firstUse, (long?)(await ListedAsync(admin, "reader"))["last_used_at"]);
        clock.Advance(TimeSpan.FromSeconds(2));
        await reader.GetAsync("/api/v1/leads/999999");

        var written = clock.GetUtcNow().ToUnixTimeSeconds();
        await Eventually.TrueAsync(async () => (long?)(await ListedAsync(admin, "reader"))["last_used_at"] == written, "the use a minute later written");
    }
}
