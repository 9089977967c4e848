using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Gateway.Tests.Sources;
using Gateway.Tests.Security;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Gateway.Tests.AdminConsole;

// Issue 18: several dead letters, or several rejected submissions, replayed in one action from the Leads page.
public sealed class ReplayManyTests
{
    private const string BotKey = "bot-key-bbbbbbbbbbbbbbbbbb";

    private const string Refused =
        """{"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"custom_fields_values.0.field_id","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}""";

    private static StringContent Ids(params long[] ids) =>
        new(new JsonObject { ["ids"] = new JsonArray([.. ids.Select(i => (JsonNode)i)]) }.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    [Fact]
    public async Task Several_dead_letters_are_replayed_in_one_call_and_the_rest_are_named_with_the_reason()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, Refused, "application/problem+json");
        var first = await admin.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.BadRequest);
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, Refused, "application/problem+json");
        var second = await admin.PostQueuedAsync(OutboxTestKit.Lead(2), HttpStatusCode.BadRequest);
        var delivered = await admin.PostQueuedAsync(OutboxTestKit.Lead(3), HttpStatusCode.OK);

        var data = await ApiAssert.SuccessDataAsync(await admin.PostAsync("/api/v1/admin/leads/replay", Ids(first, second, delivered, delivered + 100)));

        Assert.Equal([first, second], data["replayed"]!.AsArray().Select(i => (long)i!));
        ApiAssert.SameJson($$"""[{"id":{{delivered}},"reason":"not_failed","status":"delivered"},{"id":{{delivered + 100}},"reason":"not_found","status":null}]""", data["skipped"]);
        await Eventually.TrueAsync(() => admin.AllDeliveredAsync([first, second]), "both dead letters delivered");
    }

    [Fact]
    public async Task A_replay_of_too_many_or_no_ids_is_a_422_and_a_read_key_is_refused()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("bot", BotKey));
        await using var app = new GatewayApp(amo, dataDir: dir);
        using var admin = app.CreateKeyedClient();
        using var bot = app.CreateAnonymousClient();
        bot.DefaultRequestHeaders.Add("X-API-KEY", BotKey);

        foreach (var path in new[] { "/api/v1/admin/leads/replay", "/api/v1/admin/submissions/replay" })
        {
            var details = await ApiAssert.FailureAsync(await admin.PostAsync(path, Ids([.. Enumerable.Range(1, 101).Select(i => (long)i)])), HttpStatusCode.UnprocessableEntity, "Validation failed");
            Assert.Equal("at most 100 ids at once (got 101)", (string?)details!["ids"]);
            await ApiAssert.FailureAsync(await admin.PostAsync(path, Ids()), HttpStatusCode.UnprocessableEntity, "Validation failed");
            await ApiAssert.FailureAsync(await admin.PostAsync(path, new StringContent("""{"ids":["one"]}""", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.UnprocessableEntity, "Validation failed");
            await ApiAssert.FailureAsync(await bot.PostAsync(path, Ids(1)), HttpStatusCode.Forbidden, "Forbidden: this needs the \"admin\" scope");
        }
    }

    [Fact]
    public async Task In_an_admin_session_a_replay_needs_the_anti_forgery_header()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["ADMIN_PASSWORD"] = ConsoleSite.Password });
        using var browser = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false, BaseAddress = new Uri("http://localhost") });
        using var login = new HttpRequestMessage(HttpMethod.Post, "/admin/login") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["password"] = ConsoleSite.Password }) };
        login.Headers.Add("Origin", "http://localhost");
        var signedIn = await browser.SendAsync(login);
        var cookie = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("gateway_admin=", StringComparison.Ordinal)).Split(';')[0];

        foreach (var path in new[] { "/api/v1/admin/leads/replay", "/api/v1/admin/submissions/replay" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Ids(1) };
            request.Headers.Add("Cookie", cookie);
            await ApiAssert.FailureAsync(await browser.SendAsync(request), HttpStatusCode.Forbidden, "Forbidden: a change made in an admin session needs the X-Gateway-Csrf header");
        }
    }

    [Fact]
    public async Task Several_rejected_submissions_are_replayed_after_the_profile_is_fixed()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        await using var app = new GatewayApp(amo, dataDir: dir);
        await app.AuthorizeAsync();
        using var tilda = app.CreateAnonymousClient();
        foreach (var n in new[] { 1, 2 })
        {
            await tilda.PostAsync($"/hooks/tilda/{GatewayApp.ApiKey}", FormSamples.Form($"Mijoz=Sardor{n}&Aloqa=%2B998+90+222+33+4{n}&tranid=467251%3A844299{n}&formid=form555"));
        }

        using var admin = app.CreateKeyedClient();
        var rejected = (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions?status=rejected")))["submissions"]!.AsArray().Select(s => (long)s!["id"]!).ToArray();
        Assert.Equal(2, rejected.Length);
        var still = await ApiAssert.SuccessDataAsync(await admin.PostAsync("/api/v1/admin/submissions/replay", Ids(rejected)));
        Assert.All(still["submissions"]!.AsArray(), s => Assert.Equal("rejected", (string?)s!["status"]));

        await File.WriteAllTextAsync(Path.Combine(dir, "sources.json"), """
            {"profiles": [{"source": "tilda", "form": "form555", "fields": {"Mijoz": "contact.name", "Aloqa": "contact.phone"}}]}
            """);
        JsonNode? replayed = null;
        await Eventually.TrueAsync(async () =>
        {
            replayed = await ApiAssert.SuccessDataAsync(await admin.PostAsync("/api/v1/admin/submissions/replay", Ids([.. rejected, rejected[0] + 100])));
            return replayed["submissions"]![0]!["status"]!.GetValue<string>() == "accepted";
        }, "the replay with the new profile");

        var results = replayed!["submissions"]!.AsArray();
        Assert.Equal(["accepted", "accepted", null], results.Select(r => (string?)r!["status"]));
        Assert.Equal("not_found", (string?)results[2]!["reason"]);
        await Eventually.TrueAsync(() => amo.State.Unsorted.Count == 2, "both leads in amoCRM");
    }
}
