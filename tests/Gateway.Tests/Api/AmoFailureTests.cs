using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Api;

// Every way amoCRM can fail a lead becomes an envelope with a status the caller can act on: never a 500, never a parse error.
public sealed class AmoFailureTests
{
    private const string FailedToCreate = "Failed to create lead in AmoCRM";

    [Fact]
    public async Task An_unknown_field_id_is_answered_400_with_amoCRMs_validation_errors()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":999,"value":"x"}]},"contact":{"phone":"+998901234567"}}
            """);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.BadRequest, FailedToCreate);
        Assert.NotNull(details);
        Assert.Equal(400, details["http_code"]!.GetValue<int>());
        var sent = JsonNode.Parse(Assert.Single(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms").Body)!;
        var requestId = sent[0]!["request_id"]!.GetValue<string>();
        ApiAssert.SameJson($$$"""
            [{"request_id":"{{{requestId}}}","errors":[{"code":"NotSupportedChoice","path":"_embedded.leads.0.custom_fields_values.0.field_id","detail":"The value you selected is not a valid choice."}]}]
            """, details["validation_errors"]);
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task An_ended_subscription_is_answered_402()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.BlockMode = 402;

        var response = await client.PostLeadAsync(Json.MinimalLead);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.PaymentRequired, "AmoCRM subscription has ended (402)");
        Assert.Equal(402, details!["http_code"]!.GetValue<int>());
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_blocked_account_with_an_html_403_is_answered_403()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.BlockMode = 403;

        var response = await client.PostLeadAsync(Json.MinimalLead);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.Forbidden, "AmoCRM blocked this account or IP address (403)");
        Assert.Equal(403, details!["http_code"]!.GetValue<int>());
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task An_html_429_is_answered_429_without_a_parse_error()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 429,
            "<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center></body></html>",
            "text/html");

        var response = await client.PostLeadAsync(Json.MinimalLead);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.TooManyRequests, "AmoCRM rate limit exceeded");
        Assert.Equal(429, details!["http_code"]!.GetValue<int>());
        Assert.Empty(amo.State.Unsorted);
    }

    [Theory]
    [InlineData(500, """{"title":"Internal Server Error","type":"https://httpstatus.es/500","status":500,"detail":"Internal Server Error"}""", "application/problem+json")]
    [InlineData(502, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>", "text/html")]
    [InlineData(503, "<html><head><title>503 Service Temporarily Unavailable</title></head><body></body></html>", "text/html")]
    [InlineData(500, "{\"title\":", "application/json")]
    public async Task A_server_error_is_answered_502(int status, string body, string contentType)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", status, body, contentType);

        var response = await client.PostLeadAsync(Json.MinimalLead);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.BadGateway, "AmoCRM is unavailable");
        Assert.Equal(status, details!["http_code"]!.GetValue<int>());
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task An_outage_is_answered_502()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;

        var response = await client.PostLeadAsync(Json.MinimalLead);

        await ApiAssert.FailureAsync(response, HttpStatusCode.BadGateway, "AmoCRM is unavailable");
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_slow_amoCRM_is_answered_504_once_AMO_TIMEOUT_SECONDS_pass()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_TIMEOUT_SECONDS"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Delay = TimeSpan.FromSeconds(3);
        var clock = Stopwatch.StartNew();

        var response = await client.PostLeadAsync(Json.MinimalLead);

        await ApiAssert.FailureAsync(response, HttpStatusCode.GatewayTimeout, "AmoCRM did not answer in time");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2.5), $"answered after {clock.Elapsed}");
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_dropped_connection_is_answered_502()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.AbortConnections = true;

        var response = await client.PostLeadAsync(Json.MinimalLead);

        await ApiAssert.FailureAsync(response, HttpStatusCode.BadGateway, "AmoCRM is unreachable");
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_failing_field_lookup_for_utm_is_answered_with_its_failure_and_sends_no_lead()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/leads/custom_fields", 503, "<html><body>503</body></html>", "text/html");

        var response = await client.PostLeadAsync("""{"lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"},"utm":{"utm_source":"google"}}""");

        await ApiAssert.FailureAsync(response, HttpStatusCode.BadGateway, "AmoCRM is unavailable");
        Assert.Empty(amo.State.Unsorted);
    }
}
