using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Security;

public sealed class ApiKeyTests
{
    private const string Rejection = """{"success":false,"error":"Invalid or missing API key","message":"Please provide valid X-API-KEY header"}""";

    [Theory]
    [InlineData("POST", "/api/v1/leads/unsorted")]
    [InlineData("GET", "/api/v1/info/pipelines")]
    [InlineData("GET", "/api/v1/diagnostics/config")]
    public async Task A_request_without_X_API_KEY_is_answered_401_with_the_old_body(string method, string path)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateAnonymousClient();

        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? LeadContent() : null };

        var response = await client.SendAsync(request);

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.Unauthorized);
        ApiAssert.SameJson(Rejection, body);
        Assert.Empty(amo.State.Requests);
    }

    [Theory]
    [InlineData("wrong-key")]
    [InlineData("TEST-KEY-0123456789ABCDEF")]
    [InlineData("test-key-0123456789abcde")]
    [InlineData("test-key-0123456789abcdef0")]
    public async Task A_wrong_X_API_KEY_is_answered_401_with_the_old_body_and_nothing_reaches_amoCRM(string key)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateAnonymousClient();
        client.DefaultRequestHeaders.Add("X-API-KEY", key);

        var response = await client.PostLeadAsync(Json.MinimalLead);

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.Unauthorized);
        ApiAssert.SameJson(Rejection, body);
        Assert.Empty(amo.State.Requests);
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task The_right_X_API_KEY_is_let_through()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/diagnostics/config");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Health_needs_no_key()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();

        var response = await client.GetAsync("/health");

        var data = await ApiAssert.SuccessDataAsync(response);
        ApiAssert.SameJson("""{"status":"ok"}""", data);
    }

    [Fact]
    public async Task OAuth_status_needs_no_key_and_says_not_authorized_before_consent()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();

        var response = await client.GetAsync("/oauth/status");

        var data = await ApiAssert.SuccessDataAsync(response);
        Assert.False(data["has_token"]!.GetValue<bool>());
        Assert.Equal("not_authorized", data["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task OAuth_status_needs_no_key_and_says_authorized_with_a_token()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateAnonymousClient();

        var response = await client.GetAsync("/oauth/status");

        var data = await ApiAssert.SuccessDataAsync(response);
        Assert.True(data["has_token"]!.GetValue<bool>());
        Assert.Equal("authorized", data["status"]!.GetValue<string>());
    }

    private static StringContent LeadContent() => new(Json.MinimalLead, System.Text.Encoding.UTF8, "application/json");
}
