using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Operations;

public sealed class HealthAndRoutingTests
{
    [Theory]
    [InlineData("/health")]
    [InlineData("/health/")]
    public async Task Health_answers_the_old_envelope_with_or_without_a_trailing_slash(string path)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ApiAssert.JsonContentType, response.Content.Headers.ContentType!.ToString());
        Assert.Equal("""{"success":true,"message":"Gateway is running","data":{"status":"ok"}}""", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/no/such/route")]
    [InlineData("/api/v1/leads/sorted")]
    public async Task An_unknown_route_answers_404_naming_the_path(string path)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync(path);

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.NotFound);
        ApiAssert.SameJson($$"""{"success":false,"error":"Endpoint not found: {{path}}"}""", body);
    }

    [Fact]
    public async Task A_known_route_with_the_wrong_method_answers_a_405_envelope()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/leads/unsorted");

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.MethodNotAllowed);
        Assert.Equal(["success", "error"], body.Select(p => p.Key));
        Assert.False(body["success"]!.GetValue<bool>());
        Assert.Contains("/api/v1/leads/unsorted", body["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(amo.State.Requests);
    }

    [Fact]
    public async Task A_preflight_answers_200_with_the_old_cors_headers_without_an_api_key()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();

        var response = await client.SendAsync(Preflight("/api/v1/leads/unsorted", "https://landing.example.uz"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("GET, POST, OPTIONS", Header(response, "Access-Control-Allow-Methods"));
        var allowedHeaders = Header(response, "Access-Control-Allow-Headers")!.Split(',', StringSplitOptions.TrimEntries);
        Assert.Contains("Content-Type", allowedHeaders, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("X-API-KEY", allowedHeaders, StringComparer.OrdinalIgnoreCase);
        Assert.Empty(amo.State.Requests);
    }

    [Fact]
    public async Task An_ordinary_request_from_a_browser_carries_the_allow_origin_header()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
        request.Headers.Add("Origin", "https://landing.example.uz");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task With_an_allow_list_an_allowed_origin_is_echoed()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["CORS_ALLOWED_ORIGINS"] = "https://a.uz" });
        using var client = app.CreateAnonymousClient();

        var response = await client.SendAsync(Preflight("/api/v1/leads/unsorted", "https://a.uz"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("https://a.uz", Header(response, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task With_an_allow_list_another_origin_gets_no_allow_origin_header()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["CORS_ALLOWED_ORIGINS"] = "https://a.uz" });
        using var client = app.CreateAnonymousClient();

        var response = await client.SendAsync(Preflight("/api/v1/leads/unsorted", "https://b.uz"));

        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
    }

    private static HttpRequestMessage Preflight(string path, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type,x-api-key");
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : null;
}
