using System.Net;
using Emulator;
using Gateway.Amo.Tokens;
using Gateway.Data;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Operations;

// /health/ready: 503 only when leads cannot be stored; without a usable token it is 200 "degraded",
// so a load balancer keeps routing to the gateway and /oauth/authorize stays reachable.
public sealed class ReadinessTests
{
    [Fact]
    public async Task Without_a_token_readiness_is_degraded_and_consent_stays_reachable()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var ready = await client.GetAsync("/health/ready");
        var authorize = await app.CreateKeyedClient().GetAsync("/oauth/authorize");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var data = (await ready.ReadObjectAsync())["data"]!;
        Assert.Equal("degraded", (string?)data["status"]);
        Assert.Equal("none", (string?)data["checks"]!["token"]);
        Assert.Contains("/oauth/authorize", (string?)data["problems"]![0], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
    }

    [Fact]
    public async Task With_a_valid_token_readiness_reports_ready_with_the_database_token_and_queue()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var data = (await ready.ReadObjectAsync())["data"]!;
        Assert.Equal("ready", (string?)data["status"]);
        Assert.Equal("ok", (string?)data["checks"]!["database"]);
        Assert.Equal("valid", (string?)data["checks"]!["token"]);
        Assert.Equal(0, (long?)data["checks"]!["queue"]!["depth"]);
        var account = data["checks"]!["accounts"]![0]!;
        Assert.Equal(GatewayApp.Domain, (string?)account["account"]);
        Assert.True((bool?)account["can_deliver"]);
    }

    // The dispatcher still delivers with a living access token after its refresh was refused, so readiness says it can
    // deliver (it said false before the one rule), and still reports the re-authorization as a problem.
    [Fact]
    public async Task A_living_token_that_needs_reauthorization_can_deliver_and_readiness_stays_degraded()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        var token = (await app.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None))!;
        await app.Get<TokenStore>().RecordRefreshFailureAsync(GatewayApp.Domain, token.Generation, "rejected", "refresh token revoked", null, CancellationToken.None);
        using var client = app.CreateKeyedClient();

        var data = (await (await client.GetAsync("/health/ready")).ReadObjectAsync())["data"]!;
        var metrics = await MetricsTests.ScrapeAsync(client);
        await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);

        Assert.Equal("degraded", (string?)data["status"]);
        Assert.Equal("reauthorization_required", (string?)data["checks"]!["token"]);
        Assert.True((bool?)data["checks"]!["accounts"]![0]!["can_deliver"]);
        Assert.Equal(1, MetricsTests.Sample(metrics, "gateway_token_can_deliver", $"account=\"{GatewayApp.Domain}\""));
        await Eventually.TrueAsync(() => amo.State.Unsorted.Count == 1, "the lead delivered with the living token");
    }

    [Fact]
    public async Task Queued_leads_and_their_age_show_in_readiness()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        using var client = app.CreateKeyedClient();
        await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);
        clock.Advance(TimeSpan.FromMinutes(5));

        var data = (await (await client.GetAsync("/health/ready")).ReadObjectAsync())["data"]!;

        var account = data["checks"]!["accounts"]![0]!;
        Assert.Equal(1, (long?)account["queued"]);
        Assert.Equal(300, (long?)account["oldest_queued_age_seconds"]);
    }

    // Issue 12, finding 11: anonymous readiness named the account host and its queue counts.
    [Fact]
    public async Task Anonymous_readiness_says_only_ready_degraded_or_not_ready()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var anonymous = app.CreateAnonymousClient();
        await app.CreateKeyedClient().PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);

        var degraded = await anonymous.GetAsync("/health/ready");
        await app.AuthorizeAsync();
        var ready = await anonymous.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, degraded.StatusCode);
        var degradedText = await degraded.Content.ReadAsStringAsync();
        ApiAssert.SameJson("""{"success":true,"message":"Gateway is running but cannot deliver to amoCRM","data":{"status":"degraded"}}""", System.Text.Json.Nodes.JsonNode.Parse(degradedText));
        ApiAssert.SameJson("""{"success":true,"data":{"status":"ready"}}""", await ready.ReadObjectAsync());
        Assert.DoesNotContain(GatewayApp.Domain, degradedText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_outbox_that_cannot_be_read_makes_readiness_503()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateAnonymousClient();
        await using (var connection = await app.Get<Database>().OpenAsync(CancellationToken.None))
        {
            await Sql.ExecuteAsync(connection, "DROP TABLE leads", CancellationToken.None);
        }

        var ready = await client.GetAsync("/health/ready");
        var live = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = await ready.ReadObjectAsync();
        Assert.Equal("Gateway is not ready", (string?)body["error"]);
        Assert.Equal("not_ready", (string?)body["details"]!["status"]);
        Assert.Null(body["details"]!["checks"]);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }
}
