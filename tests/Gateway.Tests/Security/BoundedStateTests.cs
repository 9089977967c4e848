using System.Net;
using Emulator;
using Gateway.Security;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Security;

// Every table keyed by what a stranger chooses has a bound, and a flood of strangers neither grows it nor costs others.
public sealed class BoundedStateTests
{
    // More distinct addresses than any table holds.
    private const int Flood = 120_000;

    private const string Guess = "guess-0123456789-secret";

    // 10.0.0.0/8 has room for the flood; the good and blocked clients come from elsewhere.
    private static string Address(int i) => $"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}";

    // Requests from `count` distinct client addresses, a few at a time; every answer must be what the flood expects.
    private static async Task FloodAsync(HttpClient client, int count, string? key, HttpStatusCode expected, int from = 0)
    {
        var next = from - 1;
        var workers = Enumerable.Range(0, 4).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < from + count)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
                request.Headers.Add(SecurityTestKit.PeerHeader, Address(i));
                if (key is not null)
                {
                    request.Headers.TryAddWithoutValidation("X-API-KEY", key);
                }

                using var response = await client.SendAsync(request);
                Assert.Equal(expected, response.StatusCode);
            }
        });
        await Task.WhenAll(workers);
    }

    private static async Task<HttpStatusCode> GetAsync(WebApplicationFactory<Program> factory, string? key, string peer, string path = "/api/v1/diagnostics/config")
    {
        using var client = factory.Client(key, peer);
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    [Fact]
    public async Task Wrong_keys_from_120k_addresses_keep_the_tracker_within_its_bound_a_blocked_client_blocked_and_a_good_client_served()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        // The per-address limit is off: this is the bad-key tracker's flood alone.
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?>
        {
            ["BAD_KEY_LIMIT"] = "3",
            ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "0",
        });
        var factory = app.WithPeers();
        for (var i = 0; i < 3; i++)
        {
            await GetAsync(factory, Guess, "198.51.100.9");
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await GetAsync(factory, GatewayApp.ApiKey, "198.51.100.9"));

        using var client = factory.Client();
        await FloodAsync(client, Flood, Guess, HttpStatusCode.OK);

        var tracker = factory.Services.GetRequiredService<BadKeyTracker>();
        // Full, and no larger: the flood's newest suspects and the one block.
        Assert.Equal(BadKeyTracker.MaxSuspects + 1, tracker.Count);
        Assert.Equal(HttpStatusCode.TooManyRequests, await GetAsync(factory, GatewayApp.ApiKey, "198.51.100.9"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(factory, GatewayApp.ApiKey, "203.0.113.20"));
    }

    [Fact]
    public async Task After_requests_from_120k_addresses_a_new_client_gets_its_own_full_allowance()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "2" });
        var factory = app.WithPeers();
        using var client = factory.Client();

        await FloodAsync(client, Flood, null, HttpStatusCode.OK);

        var limits = factory.Services.GetRequiredService<InboundLimits>();
        Assert.Equal(InboundLimits.MaxClientBuckets, limits.Clients.Count);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(factory, null, "203.0.113.30", "/health"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(factory, null, "203.0.113.30", "/health"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await GetAsync(factory, null, "203.0.113.30", "/health"));
    }

    [Fact]
    public async Task A_throttled_client_is_logged_once_a_minute_however_many_other_clients_are_throttled()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "1" });
        var factory = app.WithPeers();
        using var client = factory.Client();
        const string Watched = "203.0.113.40";

        await GetAsync(factory, null, Watched, "/health");
        Assert.Equal(HttpStatusCode.TooManyRequests, await GetAsync(factory, null, Watched, "/health"));
        await FloodAsync(client, 10_050, null, HttpStatusCode.OK);
        await FloodAsync(client, 10_050, null, HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.TooManyRequests, await GetAsync(factory, null, Watched, "/health"));

        Assert.Single(app.Logs.Lines, l => l.Message.Contains($"Client {Watched} without a valid API key", StringComparison.Ordinal));
        clock.Advance(TimeSpan.FromSeconds(61));
        await GetAsync(factory, null, Watched, "/health");
        Assert.Equal(HttpStatusCode.TooManyRequests, await GetAsync(factory, null, Watched, "/health"));
        Assert.Equal(2, app.Logs.Lines.Count(l => l.Message.Contains($"Client {Watched} without a valid API key", StringComparison.Ordinal)));
    }

    [Fact]
    public void Upkeep_per_wrong_key_stays_constant_with_a_million_clients_tracked()
    {
        var clock = new TestTimeProvider();
        var tracker = NewTracker(clock, limit: 3);
        const int Clients = 1_000_000;

        // A second a thousand failures: the window (10 minutes) never ends for most, so the cap is what holds.
        for (var i = 1; i <= Clients; i++)
        {
            tracker.RecordFailure("c" + i);
            if (i % 1_000 == 0)
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                // Each failure looks at a few entries (the oldest of each table, and what it drops), never all of them.
                Assert.InRange(tracker.Examined, 0, 4L * i);
            }
        }

        Assert.InRange(tracker.Count, 1, BadKeyTracker.MaxSuspects);
    }

    [Fact]
    public void Upkeep_per_request_stays_constant_with_a_million_addresses_limited()
    {
        var clock = new TestTimeProvider();
        var limiter = new KeyedRateLimiter(clock, 100_000);
        const int Addresses = 1_000_000;

        // Ten thousand newcomers a second: six times the table fills within the minute a bucket needs to become idle.
        for (var i = 1; i <= Addresses; i++)
        {
            Assert.Null(limiter.TryAcquire("c" + i, 120, out _));
            if (i % 10_000 == 0)
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                Assert.InRange(limiter.Examined, 0, 3L * i);
            }
        }

        Assert.InRange(limiter.Count, 1, 100_000);
    }

    [Fact]
    public void At_the_block_cap_a_new_block_lifts_the_one_that_ends_soonest_and_no_other()
    {
        var clock = new TestTimeProvider();
        var tracker = NewTracker(clock, limit: 1);

        for (var i = 0; i <= BadKeyTracker.MaxBlocks; i++)
        {
            tracker.RecordFailure("c" + i);
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Null(tracker.BlockedFor("c0"));
        Assert.NotNull(tracker.BlockedFor("c1"));
        Assert.NotNull(tracker.BlockedFor("c" + BadKeyTracker.MaxBlocks));
        Assert.Equal(BadKeyTracker.MaxBlocks, tracker.Count);
    }

    private static BadKeyTracker NewTracker(TimeProvider clock, int limit) =>
        new(clock, Options.Create(new SecurityOptions { BadKeyLimit = limit }), NullLogger<BadKeyTracker>.Instance);
}
