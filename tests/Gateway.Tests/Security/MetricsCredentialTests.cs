using System.Net;
using System.Net.Http.Headers;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Security;

// /metrics is scraped with API_KEY (X-API-KEY or Bearer) or METRICS_TOKEN (Bearer); a wrong one is a wrong key like anywhere else.
public sealed class MetricsCredentialTests
{
    private const string MetricsToken = "scrape-token-0123456789";
    private const string SiteKey = "site-key-aaaaaaaaaaaaaaaa";
    private const string Refusal = """{"success":false,"error":"Invalid or missing API key","message":"Please provide valid X-API-KEY header"}""";

    private static HttpRequestMessage Scrape(string? bearer = null, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("X-API-KEY", key);
        }

        return request;
    }

    [Fact]
    public async Task Ten_wrong_bearer_tokens_on_metrics_block_the_address_like_wrong_keys_elsewhere()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["METRICS_TOKEN"] = MetricsToken });
        var factory = app.WithPeers();
        using var attacker = factory.Client(peer: "198.51.100.9");

        var guesses = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            using var guess = Scrape(bearer: $"guess-{i}-0123456789abcdef");
            guesses.Add((await attacker.SendAsync(guess)).StatusCode);
        }

        using var right = Scrape(bearer: MetricsToken);
        var rightTokenSameClient = await attacker.SendAsync(right);
        using var elsewhere = factory.Client(peer: "198.51.100.10");
        using var rightElsewhere = Scrape(bearer: MetricsToken);
        var rightTokenElsewhere = await elsewhere.SendAsync(rightElsewhere);

        Assert.All(guesses, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        await ApiAssert.FailureAsync(rightTokenSameClient, HttpStatusCode.TooManyRequests, "Too many failed API key attempts");
        Assert.Equal(HttpStatusCode.OK, rightTokenElsewhere.StatusCode);
    }

    [Fact]
    public async Task A_wrong_X_API_KEY_and_a_wrong_bearer_in_one_scrape_count_once()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["BAD_KEY_LIMIT"] = "2" });
        var factory = app.WithPeers();
        using var client = factory.Client(peer: "198.51.100.9");

        using var both = Scrape(bearer: "guess-bearer-0123456789", key: "guess-key-0123456789");
        var first = await client.SendAsync(both);
        using var keyed = Scrape(key: GatewayApp.ApiKey);
        var afterOne = await client.SendAsync(keyed);

        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, afterOne.StatusCode);
    }

    [Fact]
    public async Task The_refusal_on_metrics_is_byte_for_byte_the_API_key_refusal()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();

        using var scrape = Scrape(bearer: "guess-0123456789abcdef");
        var metrics = await client.SendAsync(scrape);
        var api = await client.GetAsync("/api/v1/diagnostics/config");

        Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);
        Assert.Equal(Refusal, await metrics.Content.ReadAsStringAsync());
        Assert.Equal(await api.Content.ReadAsStringAsync(), await metrics.Content.ReadAsStringAsync());
        Assert.Equal("application/json; charset=utf-8", metrics.Content.Headers.ContentType!.ToString());
    }

    [Fact]
    public async Task API_KEY_scrapes_as_a_bearer_but_a_keys_file_key_may_not_scrape_and_is_not_counted_as_wrong()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("website", SiteKey));
        await using var app = new GatewayApp(amo, dataDir: dir, settings: new Dictionary<string, string?> { ["BAD_KEY_LIMIT"] = "1" });
        var factory = app.WithPeers();
        using var client = factory.Client(peer: "198.51.100.9");

        using var siteKey = Scrape(key: SiteKey);
        var bySiteKey = await client.SendAsync(siteKey);
        using var siteBearer = Scrape(bearer: SiteKey);
        var bySiteBearer = await client.SendAsync(siteBearer);
        using var apiBearer = Scrape(bearer: GatewayApp.ApiKey);
        var byApiBearer = await client.SendAsync(apiBearer);

        Assert.Equal(HttpStatusCode.Unauthorized, bySiteKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, bySiteBearer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byApiBearer.StatusCode);
    }
}
