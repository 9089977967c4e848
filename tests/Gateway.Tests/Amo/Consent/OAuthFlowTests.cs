using System.Net;
using System.Web;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo.Consent;

public sealed class OAuthFlowTests
{
    private static async Task<(string Code, string State, string Referer)> ConsentAsync(GatewayApp app, HttpClient gateway)
    {
        var back = HttpUtility.ParseQueryString((await GatewayApp.ConsentRedirectAsync(gateway)).Query);
        return (back["code"]!, back["state"]!, back["referer"]!);
    }

    [Fact]
    public async Task Authorize_redirects_to_the_consent_page_with_client_id_state_and_mode()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/oauth/authorize");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.Equal(new Uri(amo.BaseUrl, "/oauth").AbsoluteUri, location.GetLeftPart(UriPartial.Path));
        var query = HttpUtility.ParseQueryString(location.Query);
        Assert.Equal(amo.Options.ClientId, query["client_id"]);
        Assert.Equal("post_message", query["mode"]);
        Assert.Matches("^[0-9a-f]{48}$", query["state"]);
    }

    [Fact]
    public async Task Consent_stores_a_token_that_the_api_then_uses()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();
        var (code, state, referer) = await ConsentAsync(app, client);

        var callback = await client.GetAsync($"/oauth/callback?code={code}&state={state}&referer={referer}");

        Assert.Equal(HttpStatusCode.OK, callback.StatusCode);
        var body = await callback.ReadObjectAsync();
        Assert.Equal("Authorization successful", (string?)body["message"]);
        Assert.Equal(1, amo.State.CodeGrants);
        var status = await (await client.GetAsync("/oauth/status")).ReadObjectAsync();
        Assert.True((bool)status["data"]!["has_token"]!);
        Assert.Equal("authorized", (string?)status["data"]!["status"]);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/account")).StatusCode);
    }

    [Fact]
    public async Task A_browser_gets_a_readable_page_from_the_callback()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        var (code, state, referer) = await ConsentAsync(app, client);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/oauth/callback?code={code}&state={state}&referer={referer}");
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("amoCRM is connected", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_state_is_refused_before_the_code_is_spent()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        var (code, state, referer) = await ConsentAsync(app, client);

        var forged = await client.GetAsync($"/oauth/callback?code={code}&state=forged{state}&referer={referer}");

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal("""{"success":false,"error":"Invalid state parameter"}""", await forged.Content.ReadAsStringAsync());
        Assert.Equal(0, amo.State.CodeGrants);
        var genuine = await client.GetAsync($"/oauth/callback?code={code}&state={state}&referer={referer}");
        Assert.Equal(HttpStatusCode.OK, genuine.StatusCode);
    }

    [Fact]
    public async Task A_state_is_refused_after_twenty_minutes()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        using var client = app.CreateAnonymousClient();
        var (code, state, referer) = await ConsentAsync(app, client);
        clock.Advance(TimeSpan.FromMinutes(21));

        var response = await client.GetAsync($"/oauth/callback?code={code}&state={state}&referer={referer}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Invalid state parameter", (string?)(await response.ReadObjectAsync())["error"]);
        Assert.Equal(0, amo.State.CodeGrants);
    }

    [Fact]
    public async Task A_state_works_only_once()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        var (code, state, referer) = await ConsentAsync(app, client);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/oauth/callback?code={code}&state={state}&referer={referer}")).StatusCode);

        var replay = await client.GetAsync($"/oauth/callback?code={code}&state={state}&referer={referer}");

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal(1, amo.State.CodeGrants);
    }

    [Fact]
    public async Task A_state_survives_a_restart_of_the_gateway()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        string dataDir;
        (string Code, string State, string Referer) consent;
        await using (var first = new GatewayApp(amo))
        {
            dataDir = first.DataDir;
            consent = await ConsentAsync(first, first.CreateAnonymousClient());
        }

        await using var second = new GatewayApp(amo, dataDir: dataDir);
        var response = await second.CreateAnonymousClient().GetAsync($"/oauth/callback?code={consent.Code}&state={consent.State}&referer={consent.Referer}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Denied_consent_answers_400_and_stores_nothing()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        amo.State.DenyConsent = true;
        var redirect = await GatewayApp.ConsentRedirectAsync(client);

        var response = await client.GetAsync("/oauth/callback" + redirect.Query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Authorization was denied in amoCRM", (string?)(await response.ReadObjectAsync())["error"]);
        Assert.Equal("not_authorized", (string?)(await (await client.GetAsync("/oauth/status")).ReadObjectAsync())["data"]!["status"]);
    }

    [Fact]
    public async Task A_callback_without_a_code_answers_400()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);

        var response = await app.CreateAnonymousClient().GetAsync("/oauth/callback?state=abc");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("""{"success":false,"error":"Authorization code not provided"}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_referer_that_is_not_an_amocrm_host_is_refused_without_exchanging_the_code()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        var (code, state, _) = await ConsentAsync(app, client);

        var response = await client.GetAsync($"/oauth/callback?code={code}&state={state}&referer=evil.example.com");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, amo.State.CodeGrants);
    }

    [Fact]
    public async Task A_referer_of_another_amocrm_account_is_refused_without_exchanging_the_code()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        var (code, state, _) = await ConsentAsync(app, client);

        var response = await client.GetAsync($"/oauth/callback?code={code}&state={state}&referer=attacker.amocrm.ru");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(GatewayApp.Domain, (string?)(await response.ReadObjectAsync())["error"], StringComparison.Ordinal);
        Assert.Equal(0, amo.State.CodeGrants);
        Assert.Equal("not_authorized", (string?)(await (await client.GetAsync("/oauth/status")).ReadObjectAsync())["data"]!["status"]);
    }

    [Fact]
    public async Task A_referer_naming_the_configured_account_in_capitals_is_accepted()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        var (code, state, referer) = await ConsentAsync(app, client);

        var response = await client.GetAsync($"/oauth/callback?code={code}&state={state}&referer={referer.ToUpperInvariant()}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, amo.State.CodeGrants);
    }

    [Fact]
    public async Task A_code_exchange_answered_without_a_refresh_token_fails_and_stores_nothing()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        var (code, state, referer) = await ConsentAsync(app, client);
        amo.State.EnqueueResponse("/oauth2/access_token", 200, """{"token_type":"Bearer","expires_in":86400,"access_token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}""", "application/json");

        var response = await client.GetAsync($"/oauth/callback?code={code}&state={state}&referer={referer}");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("Failed to exchange authorization code", (string?)(await response.ReadObjectAsync())["error"]);
        Assert.False((bool)(await (await client.GetAsync("/oauth/status")).ReadObjectAsync())["data"]!["has_token"]!);
    }
}
