using System.Net;
using Emulator;
using Gateway.Amo.Tokens;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo.Tokens;

public sealed class TokenLifecycleTests
{
    private static readonly Dictionary<string, string?> FastLimit = new() { ["AMO_RATE_LIMIT"] = "50" };

    [Fact]
    public async Task Two_hundred_concurrent_requests_at_expiry_cause_exactly_one_refresh()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock, settings: FastLimit);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        clock.Advance(TimeSpan.FromHours(25));

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            client.PostJsonAsync("/api/v1/leads/unsorted", $$$"""{"lead":{"name":"Lead {{{i}}}"},"contact":{"phone":"+99890{{{i:D7}}}"}}""")));

        // Under a burst the gateway may answer 202 (queued behind the backlog) instead of waiting: both are acknowledgements.
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted }));
        await Eventually.TrueAsync(() => amo.State.Unsorted.Count == 200, "all 200 leads delivered");
        Assert.Equal(1, amo.State.RefreshGrants);
    }

    [Fact]
    public async Task A_token_inside_the_refresh_margin_is_refreshed_before_it_expires()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        clock.Advance(TimeSpan.FromHours(24) - TimeSpan.FromMinutes(5));

        var response = await app.CreateKeyedClient().GetAsync("/api/v1/info/account");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, amo.State.RefreshGrants);
        var stored = await app.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None);
        Assert.Equal(clock.GetUtcNow().AddHours(24), stored!.ExpiresAt);
    }

    [Fact]
    public async Task A_401_from_the_api_forces_one_refresh_and_one_resend()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        amo.State.EnqueueResponse("/api/v4/account", 401, """{"title":"Unauthorized","type":"https://httpstatus.es/401","status":401,"detail":"Invalid user name or password"}""", "application/problem+json");

        var response = await app.CreateKeyedClient().GetAsync("/api/v1/info/account");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, amo.State.RefreshGrants);
        Assert.Equal(2, amo.State.Requests.Count(r => r.Path == "/api/v4/account"));
    }

    [Fact]
    public async Task Revocation_requires_reauthorization_and_a_new_consent_heals_it_without_a_restart()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.RevokeAllTokens();

        var refused = await client.GetAsync("/api/v1/info/pipelines");
        var again = await client.GetAsync("/api/v1/info/pipelines");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
        Assert.Equal(1, amo.State.RefreshGrants);
        var status = await (await client.GetAsync("/api/v1/diagnostics/token-status")).ReadObjectAsync();
        Assert.Equal("reauthorization_required", (string?)status["data"]!["state"]);
        Assert.Contains("Token has been revoked", (string?)status["data"]!["state_reason"], StringComparison.Ordinal);
        Assert.Equal("degraded", (string?)(await (await client.GetAsync("/health/ready")).ReadObjectAsync())["data"]!["status"]);
        var errors = app.Logs.Lines.Where(l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error).ToList();
        Assert.Contains("needs re-authorization", Assert.Single(errors).Message, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await GatewayApp.ConsentAsync(client)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/pipelines")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal("valid", (string?)(await (await client.GetAsync("/api/v1/diagnostics/token-status")).ReadObjectAsync())["data"]!["state"]);
    }

    [Fact]
    public async Task A_refresh_whose_answer_is_lost_is_not_resent()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        clock.Advance(TimeSpan.FromHours(25));
        amo.State.LoseNextRefreshAnswer = true;

        var first = await client.GetAsync("/api/v1/info/account");
        clock.Advance(TimeSpan.FromDays(1));
        var second = await client.GetAsync("/api/v1/info/account");

        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
        Assert.Equal(1, amo.State.RefreshGrants);
        var status = (await (await client.GetAsync("/api/v1/diagnostics/token-status")).ReadObjectAsync())["data"]!;
        Assert.Equal("reauthorization_required", (string?)status["state"]);
        Assert.Equal("answer_lost", (string?)status["last_refresh_outcome"]);
    }

    [Fact]
    public async Task A_refresh_that_amocrm_could_not_serve_backs_off_then_succeeds()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        clock.Advance(TimeSpan.FromHours(25));
        amo.State.Outage = true;

        var during = await client.GetAsync("/api/v1/info/account");
        var soonAfter = await client.GetAsync("/api/v1/info/account");
        Assert.Equal(HttpStatusCode.BadGateway, during.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, soonAfter.StatusCode);
        Assert.Equal(1, amo.State.Requests.Count(r => r.Path == "/oauth2/access_token"));

        amo.State.Outage = false;
        clock.Advance(TimeSpan.FromMinutes(2));
        var recovered = await client.GetAsync("/api/v1/info/account");

        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(2, amo.State.Requests.Count(r => r.Path == "/oauth2/access_token"));
    }

    [Fact]
    public async Task Tokens_are_encrypted_at_rest()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var pair = await app.AuthorizeAsync();

        var files = await TestDatabase.RawContentsAsync(app);

        Assert.NotEmpty(files);
        Assert.DoesNotContain(files, f => f.Contains(pair.AccessToken[^40..], StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => f.Contains(pair.RefreshToken[^40..], StringComparison.Ordinal));
    }

    [Fact]
    public async Task Keep_alive_keeps_an_idle_gateway_authorized_across_two_hundred_days()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock, settings: FastLimit);
        await app.AuthorizeAsync();
        var keepAlive = app.Get<TokenKeepAlive>();
        var store = app.Get<TokenStore>();
        var oldest = TimeSpan.Zero;

        for (var step = 0; step < 200 * 4; step++)
        {
            clock.Advance(TimeSpan.FromHours(6));
            await keepAlive.RunOnceAsync(CancellationToken.None);
            var token = await store.GetAsync(GatewayApp.Domain, CancellationToken.None);
            var age = clock.GetUtcNow() - token!.RefreshTokenIssuedAt;
            oldest = age > oldest ? age : oldest;
        }

        Assert.Equal(28, amo.State.RefreshGrants);
        Assert.True(oldest < TimeSpan.FromDays(7) + TimeSpan.FromHours(6), $"a refresh token reached {oldest} of age");
        var response = await app.CreateKeyedClient().PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_long_lived_token_is_used_as_it_is_and_never_refreshed()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var token = amo.State.IssueLongLivedToken(TimeSpan.FromDays(365));
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["AMO_LONG_LIVED_TOKEN"] = token });
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/info/account");
        clock.Advance(TimeSpan.FromDays(30));
        await app.Get<TokenKeepAlive>().RunOnceAsync(CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, amo.State.RefreshGrants);
        var status = (await (await client.GetAsync("/api/v1/diagnostics/token-status")).ReadObjectAsync())["data"]!;
        Assert.True((bool)status["long_lived"]!);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero).AddDays(365).ToUnixTimeSeconds(), (long)status["expires_at"]!);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/oauth/authorize")).StatusCode);
    }
}
