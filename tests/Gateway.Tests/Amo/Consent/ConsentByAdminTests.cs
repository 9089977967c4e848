using System.Net;
using System.Web;
using Emulator;
using Gateway.Data;
using Gateway.Security;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Amo.Consent;

// Issue 12, findings 1, 2 and 9: only an admin starts a consent; nobody else writes a state or spends amoCRM's budget.
public sealed class ConsentByAdminTests
{
    private const string SiteKey = "site-key-aaaaaaaaaaaaaaaa";
    private const string BotKey = "bot-key-bbbbbbbbbbbbbbbbbb";
    private const string OpsKey = "ops-key-dddddddddddddddddd";

    private static GatewayApp AppWithKeys(AmoEmulator amo, IDictionary<string, string?>? settings = null)
    {
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir,
            SecurityTestKit.Entry("website", SiteKey, """ "cors_origins":["https://mysite.uz"] """),
            SecurityTestKit.Entry("bot", BotKey),
            SecurityTestKit.Entry("ops", OpsKey, """ "scopes":["admin"] """));
        return new GatewayApp(amo, dataDir: dir, settings: settings);
    }

    internal static async Task<long> StateRowsAsync(GatewayApp app)
    {
        await using var connection = await app.Get<Database>().OpenAsync(CancellationToken.None);
        return await Sql.ScalarInt64Async(connection, "SELECT COUNT(*) FROM oauth_states", null, [], CancellationToken.None) ?? 0;
    }

    [Fact]
    public async Task Anonymous_authorize_answers_401_writes_no_state_and_calls_no_amocrm()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);

        var response = await app.CreateAnonymousClient().GetAsync("/oauth/authorize");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("""{"success":false,"error":"Invalid or missing API key","message":"Please provide valid X-API-KEY header"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, await StateRowsAsync(app));
        Assert.Empty(amo.State.Requests);
    }

    [Fact]
    public async Task A_browser_without_an_admin_is_sent_to_the_admin_login_and_no_state_is_written()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth/authorize");
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml");

        var response = await app.CreateAnonymousClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/admin/login?next=%2Foauth%2Fauthorize", response.Headers.Location!.OriginalString);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Equal(0, await StateRowsAsync(app));
        Assert.Empty(amo.State.Requests);
    }

    [Theory]
    [InlineData(BotKey)]
    [InlineData(SiteKey)]
    public async Task A_key_without_the_admin_scope_gets_403_naming_it_and_writes_no_state(string key)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo);

        var response = await app.Client(key).GetAsync("/oauth/authorize");

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.Forbidden, "Forbidden: this needs the \"admin\" scope");
        Assert.Equal(Scopes.Admin, details!["required_scope"]!.GetValue<string>());
        Assert.Equal(0, await StateRowsAsync(app));
    }

    [Fact]
    public async Task An_admin_scoped_key_starts_consent_and_its_name_is_in_the_log_of_the_grant()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo);
        using var ops = app.Client(OpsKey);

        var callback = await GatewayApp.ConsentAsync(ops);

        Assert.Equal(HttpStatusCode.OK, callback.StatusCode);
        Assert.Contains(app.Logs.Lines, l => l.Message.Contains("started by ops", StringComparison.Ordinal) && l.Message.Contains("28805383", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_anonymous_flood_of_authorize_calls_writes_no_state()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "0" });
        using var client = app.CreateAnonymousClient();

        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/oauth/authorize")).StatusCode);
        }

        Assert.Equal(0, await StateRowsAsync(app));
        Assert.Empty(amo.State.Requests);
    }

    [Fact]
    public async Task A_thousand_authorize_calls_by_an_admin_leave_at_most_twenty_states_and_the_newest_still_works()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0" });
        using var client = app.CreateKeyedClient();

        for (var i = 0; i < 999; i++)
        {
            Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/oauth/authorize")).StatusCode);
        }

        var last = await GatewayApp.ConsentRedirectAsync(client);

        Assert.InRange(await StateRowsAsync(app), 1, 20);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/oauth/callback" + last.Query)).StatusCode);
    }

    [Fact]
    public async Task Two_hundred_junk_callbacks_from_ten_addresses_cost_no_token_endpoint_call()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var gateway = new GatewayApp(amo);
        var app = gateway.WithPeers();
        var peers = Enumerable.Range(1, 10).Select(i => app.Client(peer: $"203.0.113.{i}")).ToList();

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            var client = peers[i % peers.Count];
            var authorize = await client.GetAsync("/oauth/authorize");
            var state = authorize.Headers.Location is { } location ? HttpUtility.ParseQueryString(location.Query)["state"] : "junk" + i;
            return await client.GetAsync($"/oauth/callback?code=def50200junk{i}&state={state}&referer={GatewayApp.Domain}");
        }));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.BadRequest, a.StatusCode));
        Assert.Equal(0, amo.State.CodeGrants);
        Assert.DoesNotContain(amo.State.Requests, r => r.Path.StartsWith("/oauth2/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_consent_started_in_a_browser_is_accepted_only_from_that_browser()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var browser = app.CreateKeyedClient();
        using var elsewhere = app.CreateAnonymousClient();

        var first = await BrowserConsentAsync(browser);
        var fromElsewhere = await elsewhere.GetAsync("/oauth/callback" + first.Callback.Query);
        var second = await BrowserConsentAsync(browser);
        var fromTheSameBrowser = await browser.GetAsync("/oauth/callback" + second.Callback.Query);

        var cookie = Assert.Single(first.SetCookie);
        Assert.StartsWith("gateway_consent=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/oauth/callback", cookie, StringComparison.OrdinalIgnoreCase);
        await ApiAssert.FailureAsync(fromElsewhere, HttpStatusCode.BadRequest, "Invalid state parameter: this consent was started in another browser; start again at /oauth/authorize");
        Assert.Equal(HttpStatusCode.OK, fromTheSameBrowser.StatusCode);
        Assert.Equal(1, amo.State.CodeGrants);
    }

    // A person with an admin key in a browser: the authorize navigation accepts HTML, the cookie jar keeps the nonce.
    private static async Task<(Uri Callback, IEnumerable<string> SetCookie)> BrowserConsentAsync(HttpClient browser)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth/authorize");
        request.Headers.Accept.ParseAdd("text/html");
        var authorize = await browser.SendAsync(request);
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        using var amoBrowser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var consent = await amoBrowser.GetAsync(authorize.Headers.Location);
        return (consent.Headers.Location!, authorize.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies.ToList() : []);
    }
}
