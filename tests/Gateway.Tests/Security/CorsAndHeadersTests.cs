using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Security;

public sealed class CorsAndHeadersTests
{
    private const string SiteKey = "site-key-aaaaaaaaaaaaaaaa";
    private const string Site = "https://mysite.uz";

    private static GatewayApp AppWithSiteKey(AmoEmulator amo, string globalOrigins)
    {
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("website", SiteKey, $$"""
            "cors_origins":["{{Site}}"]
            """));
        return new GatewayApp(amo, dataDir: dir, settings: new Dictionary<string, string?> { ["CORS_ALLOWED_ORIGINS"] = globalOrigins });
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(",", values) : null;

    private static HttpRequestMessage Request(HttpMethod method, string path, string origin, string? key = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Post)
        {
            request.Content = new StringContent(Json.MinimalLead, System.Text.Encoding.UTF8, "application/json");
        }

        request.Headers.Add("Origin", origin);
        if (key is not null)
        {
            request.Headers.Add("X-API-KEY", key);
        }

        return request;
    }

    [Fact]
    public async Task A_preflight_is_allowed_when_any_key_lists_the_origin_even_if_the_global_list_does_not()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithSiteKey(amo, "https://admin.example.uz");
        using var client = app.CreateAnonymousClient();

        var listedByKey = await client.SendAsync(Request(HttpMethod.Options, "/api/v1/leads/unsorted", Site));
        var listedGlobally = await client.SendAsync(Request(HttpMethod.Options, "/api/v1/leads/unsorted", "https://admin.example.uz"));
        var listedNowhere = await client.SendAsync(Request(HttpMethod.Options, "/api/v1/leads/unsorted", "https://evil.example"));

        Assert.Equal(Site, Header(listedByKey, "Access-Control-Allow-Origin"));
        Assert.Equal("https://admin.example.uz", Header(listedGlobally, "Access-Control-Allow-Origin"));
        Assert.Null(Header(listedNowhere, "Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.OK, listedNowhere.StatusCode);
    }

    [Fact]
    public async Task A_key_with_cors_origins_refuses_a_browser_request_from_another_origin_even_when_the_global_list_is_a_star()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithSiteKey(amo, "*");
        await app.AuthorizeAsync();
        using var client = app.CreateAnonymousClient();

        var fromSite = await client.SendAsync(Request(HttpMethod.Post, "/api/v1/leads/unsorted", Site, SiteKey));
        var fromElsewhere = await client.SendAsync(Request(HttpMethod.Post, "/api/v1/leads/unsorted", "https://evil.example", SiteKey));
        var withoutOrigin = await app.Client(SiteKey).PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);
        var apiKeyElsewhere = await client.SendAsync(Request(HttpMethod.Get, "/api/v1/diagnostics/config", "https://evil.example", GatewayApp.ApiKey));

        Assert.Equal(HttpStatusCode.OK, fromSite.StatusCode);
        Assert.Equal(Site, Header(fromSite, "Access-Control-Allow-Origin"));
        Assert.Contains("Origin", Header(fromSite, "Vary"), StringComparison.Ordinal);
        await ApiAssert.FailureAsync(fromElsewhere, HttpStatusCode.Forbidden, "Origin not allowed for this API key");
        Assert.Null(Header(fromElsewhere, "Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.OK, withoutOrigin.StatusCode);
        Assert.Equal(HttpStatusCode.OK, apiKeyElsewhere.StatusCode);
        Assert.Equal("*", Header(apiKeyElsewhere, "Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/api/v1/diagnostics/config")]
    [InlineData("/no/such/route")]
    [InlineData("/oauth/callback?code=x&state=forged")]
    public async Task Every_answer_carries_the_security_headers_and_no_HSTS_over_plain_http(string path)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync(path);

        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
        Assert.Contains("frame-ancestors 'none'", Header(response, "Content-Security-Policy"), StringComparison.Ordinal);
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        Assert.Equal("no-store", Header(response, "Cache-Control"));
        Assert.Null(Header(response, "Strict-Transport-Security"));
        Assert.Null(Header(response, "Server"));
    }

    [Fact]
    public async Task The_OAuth_callback_page_still_renders_under_the_content_security_policy()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var browser = app.CreateAnonymousClient();
        var callback = await GatewayApp.ConsentRedirectAsync(browser);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth/callback" + callback.Query);
        request.Headers.Add("Accept", "text/html");

        var response = await browser.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("amoCRM is connected", html, StringComparison.Ordinal);
        // The page's only resource is its inline style attribute: no script, image or external sheet the policy would block.
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("style-src 'unsafe-inline'", Header(response, "Content-Security-Policy"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_https_request_gets_HSTS()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.Client(baseAddress: "https://localhost");

        var response = await client.GetAsync("/health");

        Assert.Equal("max-age=31536000", Header(response, "Strict-Transport-Security"));
    }
}
