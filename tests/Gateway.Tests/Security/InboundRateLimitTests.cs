using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Security;

public sealed class InboundRateLimitTests
{
    private const string SiteKey = "site-key-aaaaaaaaaaaaaaaa";

    private static async Task<HttpStatusCode[]> SendAsync(HttpClient client, int count, string path = "/api/v1/leads/")
    {
        var statuses = new HttpStatusCode[count];
        for (var i = 0; i < count; i++)
        {
            statuses[i] = (await client.GetAsync(path)).StatusCode;
        }

        return statuses;
    }

    [Fact]
    public async Task A_key_over_its_limit_gets_a_429_envelope_with_Retry_After_until_the_clock_refills_it()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "6" });
        using var client = app.CreateKeyedClient();

        Assert.All(await SendAsync(client, 6), s => Assert.Equal(HttpStatusCode.OK, s));
        var limited = await client.GetAsync("/api/v1/leads/");

        var details = await ApiAssert.FailureAsync(limited, HttpStatusCode.TooManyRequests, "Too many requests");
        Assert.Equal("10", limited.Headers.GetValues("Retry-After").Single());
        Assert.Equal(10, details!["retry_after"]!.GetValue<int>());
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/leads/")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.GetAsync("/api/v1/leads/")).StatusCode);
    }

    [Fact]
    public async Task Each_key_has_its_own_bucket_and_a_keys_file_limit_overrides_the_default()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("website", SiteKey, "\"rate_limit_per_minute\":2"));
        await using var app = new GatewayApp(amo, clock, dir, new Dictionary<string, string?> { ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "5" });

        var site = await SendAsync(app.Client(SiteKey), 3);
        var main = await SendAsync(app.CreateKeyedClient(), 6);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], site);
        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, 5), HttpStatusCode.TooManyRequests], main);
    }

    [Fact]
    public async Task Callers_without_a_key_are_limited_per_client_address()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "3" });
        var factory = app.WithPeers();

        var first = await SendAsync(factory.Client(peer: "203.0.113.7"), 4, "/health");
        var sameSlash64 = await SendAsync(factory.Client(peer: "2001:db8:1:2::1"), 2, "/health");
        var sameSlash64Again = await SendAsync(factory.Client(peer: "2001:db8:1:2::ffff"), 2, "/health");
        var other = await factory.Client(peer: "203.0.113.8").GetAsync("/health");
        var keyed = await SendAsync(factory.Client(GatewayApp.ApiKey, "203.0.113.7"), 2);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], first);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], [.. sameSlash64, .. sameSlash64Again]);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.All(keyed, s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Fact]
    public async Task A_client_sending_too_many_wrong_keys_is_refused_even_with_the_right_key_until_the_cool_down_ends()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?>
        {
            ["BAD_KEY_LIMIT"] = "5",
            ["BAD_KEY_WINDOW_SECONDS"] = "600",
            ["BAD_KEY_BLOCK_SECONDS"] = "900",
        });
        var factory = app.WithPeers();
        const string Guess = "guess-0123456789-secret";
        using var attacker = factory.Client(Guess, "198.51.100.9");

        var guesses = await SendAsync(attacker, 5);
        var rightKeySameClient = await factory.Client(GatewayApp.ApiKey, "198.51.100.9").GetAsync("/api/v1/leads/");
        var rightKeyElsewhere = await factory.Client(GatewayApp.ApiKey, "198.51.100.10").GetAsync("/api/v1/leads/");

        Assert.All(guesses, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        await ApiAssert.FailureAsync(rightKeySameClient, HttpStatusCode.TooManyRequests, "Too many failed API key attempts");
        Assert.Equal("900", rightKeySameClient.Headers.GetValues("Retry-After").Single());
        Assert.Equal(HttpStatusCode.OK, rightKeyElsewhere.StatusCode);
        Assert.All(await SendAsync(attacker, 3), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        var blocked = Assert.Single(app.Logs.Lines, l => l.Message.Contains("wrong API keys", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, blocked.Level);
        Assert.Contains("198.51.100.9", blocked.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(app.Logs.Lines, l => l.Message.Contains(Guess, StringComparison.Ordinal));

        clock.Advance(TimeSpan.FromSeconds(900));
        Assert.Equal(HttpStatusCode.OK, (await factory.Client(GatewayApp.ApiKey, "198.51.100.9").GetAsync("/api/v1/leads/")).StatusCode);
    }

    [Fact]
    public async Task A_spoofed_X_Forwarded_For_from_a_peer_that_is_no_trusted_proxy_does_not_change_the_client_bucket()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "2" });
        var factory = app.WithPeers();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var client = factory.Client(peer: "192.0.2.50");
            client.DefaultRequestHeaders.Add("X-Forwarded-For", $"203.0.113.{i + 1}");
            statuses.Add((await client.GetAsync("/health")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    // Issue 12, finding 5: behind the shipped nginx every request comes from 127.0.0.1.
    [Fact]
    public async Task Behind_a_proxy_on_loopback_one_visitors_wrong_keys_block_that_visitor_only_without_any_setting()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, new TestTimeProvider(), settings: new Dictionary<string, string?> { ["BAD_KEY_LIMIT"] = "3" });
        var factory = app.WithPeers();
        HttpClient Visitor(string address, string key)
        {
            var client = factory.Client(key, "127.0.0.1");
            client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
            return client;
        }

        using var attacker = Visitor("203.0.113.66", "wrong-key-0123456789");
        var guesses = await SendAsync(attacker, 3, "/api/v1/leads/");
        var attackerWithRightKey = await Visitor("203.0.113.66", GatewayApp.ApiKey).GetAsync("/api/v1/leads/");
        var otherVisitor = await Visitor("198.51.100.7", GatewayApp.ApiKey).GetAsync("/api/v1/leads/");

        Assert.All(guesses, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, attackerWithRightKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, otherVisitor.StatusCode);
    }

    [Fact]
    public async Task With_TRUSTED_PROXIES_none_not_even_loopback_may_name_the_client()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, new TestTimeProvider(), settings: new Dictionary<string, string?>
        {
            ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "2",
            ["TRUSTED_PROXIES"] = "none",
        });
        var factory = app.WithPeers();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var client = factory.Client(peer: "127.0.0.1");
            client.DefaultRequestHeaders.Add("X-Forwarded-For", $"203.0.113.{i + 1}");
            statuses.Add((await client.GetAsync("/health")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task With_TRUSTED_PROXIES_the_forwarded_client_address_gets_its_own_bucket_and_https_gets_HSTS()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?>
        {
            ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "2",
            ["TRUSTED_PROXIES"] = "10.0.0.0/8",
        });
        var factory = app.WithPeers();

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 3; i++)
        {
            using var client = factory.Client(peer: "127.0.0.1");
            client.DefaultRequestHeaders.Add("X-Forwarded-For", $"203.0.113.{i + 1}, 10.1.2.3");
            client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
            last = await client.GetAsync("/health");
            statuses.Add(last.StatusCode);
        }

        using var untrustedPeer = factory.Client(peer: "192.0.2.50");
        untrustedPeer.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.1");
        var fromUntrusted = await SendAsync(untrustedPeer, 3, "/health");

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal("max-age=31536000", last!.Headers.GetValues("Strict-Transport-Security").Single());
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], fromUntrusted);
    }

    [Theory]
    [InlineData("RATE_LIMIT_PER_KEY_PER_MINUTE", "-1")]
    [InlineData("RATE_LIMIT_PER_IP_PER_MINUTE", "lots")]
    [InlineData("TRUSTED_PROXIES", "nginx.local")]
    [InlineData("BAD_KEY_BLOCK_SECONDS", "0")]
    [InlineData("MAX_BODY_BYTES", "10")]
    [InlineData("MAX_JSON_DEPTH", "1000")]
    public async Task A_bad_security_setting_stops_startup_naming_it(string setting, string value)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { [setting] = value });

        var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        Assert.StartsWith(setting, Gateway.Hosting.StartupFailure.Describe(error), StringComparison.Ordinal);
    }
}
