using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo;

// A lead amoCRM cannot take now is stored and answered 202; only amoCRM's verdict on the lead itself (400) fails it.
public sealed class AmoFailureTests
{
    private const string FailedToCreate = "Failed to create lead in AmoCRM";

    [Fact]
    public async Task An_option_amoCRM_refuses_in_its_own_values_shape_is_answered_400_with_amoCRMs_validation_errors()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":100003,"values":[{"enum_id":999}]}]},"contact":{"phone":"+998901234567"}}
            """);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.BadRequest, FailedToCreate);
        Assert.NotNull(details);
        Assert.Equal(400, details["http_code"]!.GetValue<int>());
        var sent = JsonNode.Parse(Assert.Single(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms").Body)!;
        var requestId = sent[0]!["request_id"]!.GetValue<string>();
        ApiAssert.SameJson($$$"""
            [{"request_id":"{{{requestId}}}","errors":[{"code":"NotSupportedChoice","path":"_embedded.leads.0.custom_fields_values.0.values.0.enum_id","detail":"The value you selected is not a valid choice."}]}]
            """, details["validation_errors"]);
        Assert.Empty(amo.State.Unsorted);
    }

    public static TheoryData<string> Faults() => ["402", "403", "429", "500-json", "502-html", "503-html", "500-broken", "outage", "abort", "slow"];

    // Each way amoCRM can be unwell, scripted on the emulator for the next lead call.
    internal static void Inject(AmoEmulator amo, string fault)
    {
        const string html429 = "<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center></body></html>";
        switch (fault)
        {
            case "402": amo.State.BlockMode = 402; break;
            case "403": amo.State.BlockMode = 403; break;
            case "429": amo.State.EnqueueResponse("/api/v4/", 429, html429, "text/html"); break;
            case "500-json": amo.State.EnqueueResponse("/api/v4/", 500, """{"title":"Internal Server Error","type":"https://httpstatus.es/500","status":500,"detail":"Internal Server Error"}""", "application/problem+json"); break;
            case "502-html": amo.State.EnqueueResponse("/api/v4/", 502, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>", "text/html"); break;
            case "503-html": amo.State.EnqueueResponse("/api/v4/", 503, "<html><head><title>503 Service Temporarily Unavailable</title></head><body></body></html>", "text/html"); break;
            case "500-broken": amo.State.EnqueueResponse("/api/v4/", 500, "{\"title\":", "application/json"); break;
            case "outage": amo.State.Outage = true; break;
            case "abort": amo.State.AbortConnections = true; break;
            case "slow": amo.State.Delay = TimeSpan.FromSeconds(3); break;
            default: throw new ArgumentOutOfRangeException(nameof(fault), fault, null);
        }
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_lead_amoCRM_cannot_take_now_is_stored_and_answered_202_queued(string fault)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_TIMEOUT_SECONDS"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        Inject(amo, fault);
        var clock = Stopwatch.StartNew();

        var response = await client.PostLeadAsync(Json.MinimalLead);

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.Accepted);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"answered after {clock.Elapsed}");
        Assert.True(body["success"]!.GetValue<bool>());
        Assert.Equal("Lead accepted and queued for delivery", (string?)body["message"]);
        Assert.Equal("queued", (string?)body["data"]!["status"]);
        var id = body["data"]!["id"]!.GetValue<long>();
        var stored = await ApiAssert.SuccessDataAsync(await client.GetAsync($"/api/v1/leads/{id}"));
        Assert.Contains((string?)stored["status"], new[] { "queued", "delivering" });
        Assert.Empty(amo.State.Unsorted);
    }

    // The other half of "abort" and "slow": amoCRM created the lead, then the answer was lost.
    [Theory]
    [InlineData(LostAnswer.Reset)]
    [InlineData(LostAnswer.Timeout)]
    [InlineData("502")]
    [InlineData("503")]
    [InlineData("504")]
    public async Task A_lead_whose_answer_was_lost_after_amoCRM_created_it_is_answered_202_and_exists_once(string mode)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        // Only the timeout case needs a short timeout; elsewhere a busy machine must not turn an answer into a timeout.
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_TIMEOUT_SECONDS"] = mode == LostAnswer.Timeout ? "2" : "10" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.LostAnswerMode = mode;
        amo.State.LostAnswerRatio = 1;

        var response = await client.PostLeadAsync(Json.MinimalLead);

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.Accepted);
        var id = body["data"]!["id"]!.GetValue<long>();
        await Eventually.TrueAsync(async () => (string?)(await ApiAssert.SuccessDataAsync(await client.GetAsync($"/api/v1/leads/{id}")))["status"] == "delivered", "the lead settled", TimeSpan.FromSeconds(30));
        var created = Assert.Single(amo.State.Unsorted);
        var stored = await ApiAssert.SuccessDataAsync(await client.GetAsync($"/api/v1/leads/{id}"));
        Assert.Equal(created.LeadId, stored["lead_id"]!.GetValue<long>());
        Assert.Single(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms");
    }

    [Fact]
    public async Task A_failing_field_lookup_for_utm_queues_the_lead_and_sends_nothing()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/leads/custom_fields", 503, "<html><body>503</body></html>", "text/html");

        var response = await client.PostLeadAsync("""{"lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"},"utm":{"utm_source":"google"}}""");

        await ApiAssert.EnvelopeAsync(response, HttpStatusCode.Accepted);
        Assert.DoesNotContain(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms");
    }
}

// The info routes have nothing to queue: amoCRM's failures become envelopes with a status the caller can act on.
public sealed class InfoFailureTests
{
    [Theory]
    [InlineData("402", 402, "AmoCRM subscription has ended (402)")]
    [InlineData("403", 403, "AmoCRM blocked this account or IP address (403)")]
    [InlineData("429", 429, "AmoCRM rate limit exceeded")]
    [InlineData("500-json", 502, "AmoCRM is unavailable")]
    [InlineData("502-html", 502, "AmoCRM is unavailable")]
    [InlineData("503-html", 502, "AmoCRM is unavailable")]
    [InlineData("500-broken", 502, "AmoCRM is unavailable")]
    [InlineData("outage", 502, "AmoCRM is unavailable")]
    [InlineData("abort", 502, "AmoCRM is unreachable")]
    [InlineData("slow", 504, "AmoCRM did not answer in time")]
    public async Task An_amoCRM_failure_on_an_info_route_is_an_envelope_never_a_500(string fault, int status, string error)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        // Only the slow case needs a short timeout; elsewhere a busy CI machine must not turn an answer into a 504.
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_TIMEOUT_SECONDS"] = fault == "slow" ? "1" : "10" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        AmoFailureTests.Inject(amo, fault);

        var response = await client.GetAsync("/api/v1/info/account");

        var details = await ApiAssert.FailureAsync(response, (HttpStatusCode)status, error);
        Assert.Equal("Failed to get account info", (string?)details!["error"]);
    }
}
