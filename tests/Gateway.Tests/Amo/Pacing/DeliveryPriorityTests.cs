using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.Amo.Pacing;

// amoCRM's 7 calls per second belong to delivery: info lookups (anyone with a key) must not be able to spend them.
public sealed class DeliveryPriorityTests
{
    private const string UnsortedPath = "/api/v4/leads/unsorted/forms";

    private static readonly Dictionary<string, string?> NoInboundLimits = new()
    {
        ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "0",
        ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0",
    };

    [Fact]
    public async Task A_lead_reaches_amoCRM_within_five_seconds_after_150_abandoned_info_lookups()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond: 7));
        await using var app = new GatewayApp(amo, settings: NoInboundLimits);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Delay = TimeSpan.FromMilliseconds(50);

        // Distinct missing pipelines, one missing pipeline over and over, and the account's real resources.
        string[] shared = ["/api/v1/info/pipelines", "/api/v1/info/lead-fields", "/api/v1/info/contact-fields", "/api/v1/info/account", "/api/v1/info/pipelines/999999"];
        var paths = Enumerable.Range(0, 100).Select(i => $"/api/v1/info/pipelines/{800_000 + i}")
            .Concat(Enumerable.Range(0, 50).Select(i => shared[i % shared.Length]))
            .ToList();
        var abandoned = await Task.WhenAll(paths.Select(path => client.GiveUpAfterAsync(path, TimeSpan.FromMilliseconds(300))));
        // The first few distinct ids are answered in time (7 calls a second); the rest give up while they wait for amoCRM.
        var distinctGaveUp = abandoned.Take(100).Count(gaveUp => gaveUp);
        Assert.True(distinctGaveUp >= 80, $"only {distinctGaveUp} of the distinct lookups gave up");

        var posted = TimeProvider.System.GetUtcNow();
        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(1));

        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted });
        var delivery = await Eventually.SingleAsync(() => amo.State.Requests.Where(r => r.Path == UnsortedPath).ToList(), "the lead at amoCRM");
        var took = delivery.ReceivedAt - posted;
        Assert.True(took < TimeSpan.FromSeconds(5), $"the lead reached amoCRM {took.TotalSeconds:F1} s after it was posted");
    }

    [Fact]
    public async Task Info_lookups_take_at_most_two_of_seven_calls_in_any_second_while_leads_are_queued()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond: 7));
        var settings = new Dictionary<string, string?>(NoInboundLimits) { ["OUTBOX_BATCH_SIZE"] = "1", ["OUTBOX_WORKERS"] = "1", ["OUTBOX_POLL_SECONDS"] = "0.2" };
        await using var app = new GatewayApp(amo, settings: settings);
        using var client = app.CreateKeyedClient();
        // One worker and a slow amoCRM leave delivery some slots unused: lookups then show how many they may take.
        // (Delivery that wants all 7 gets all 7: lookups wait.)
        amo.State.Delay = TimeSpan.FromMilliseconds(300);

        // A backlog stored before consent, so it stays queued from the first lookup until the last lead goes out.
        var ids = new List<long>();
        foreach (var i in Enumerable.Range(0, 20))
        {
            ids.Add(await client.PostQueuedAsync(OutboxTestKit.Lead(i)));
        }

        await app.AuthorizeAsync();
        var lookups = Task.WhenAll(Enumerable.Range(0, 30).Select(i => client.GetAsync($"/api/v1/info/pipelines/{700_000 + i}")));
        await Eventually.TrueAsync(() => client.AllDeliveredAsync(ids), "20 leads delivered", TimeSpan.FromSeconds(30));
        await lookups;

        AssertLookupsHeldToTwoASecondWhileDelivering(amo);
    }

    [Fact]
    public async Task Lookups_on_one_instance_keep_to_two_calls_a_second_while_another_instance_delivers()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond: 7));
        var dataDir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        await using var delivering = new GatewayApp(amo, dataDir: dataDir, settings: new Dictionary<string, string?>(NoInboundLimits)
        {
            ["OUTBOX_BATCH_SIZE"] = "1", ["OUTBOX_WORKERS"] = "1", ["OUTBOX_POLL_SECONDS"] = "0.2",
        });

        // This one never looks at the queue itself during the test: only the shared budget can tell it leads are going out.
        await using var looking = new GatewayApp(amo, dataDir: dataDir, settings: new Dictionary<string, string?>(NoInboundLimits) { ["OUTBOX_POLL_SECONDS"] = "60" });
        using var a = delivering.CreateKeyedClient();
        using var b = looking.CreateKeyedClient();
        // One worker and a slow amoCRM leave delivery some slots unused: lookups then show how many they may take.
        // (Delivery that wants all 7 gets all 7: lookups wait.)
        amo.State.Delay = TimeSpan.FromMilliseconds(300);
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync("/health")).StatusCode);

        var ids = new List<long>();
        foreach (var i in Enumerable.Range(0, 20))
        {
            ids.Add(await a.PostQueuedAsync(OutboxTestKit.Lead(i)));
        }

        await delivering.AuthorizeAsync();
        await Eventually.TrueAsync(() => amo.State.Unsorted.Count > 0, "the first lead at amoCRM");
        var lookups = Task.WhenAll(Enumerable.Range(0, 30).Select(i => b.GetAsync($"/api/v1/info/pipelines/{600_000 + i}")));
        await Eventually.TrueAsync(() => a.AllDeliveredAsync(ids), "20 leads delivered", TimeSpan.FromSeconds(30));
        await lookups;

        AssertLookupsHeldToTwoASecondWhileDelivering(amo);
    }

    // Every pipeline lookup amoCRM saw until the last lead went out: some, and never more than 2 in any second.
    private static void AssertLookupsHeldToTwoASecondWhileDelivering(AmoEmulator amo)
    {
        var requests = amo.State.Requests;
        var lastDelivery = requests.Where(r => r.Path == UnsortedPath).Max(r => r.ReceivedAt);
        var info = requests.Where(r => r.Path.StartsWith("/api/v4/leads/pipelines/", StringComparison.Ordinal) && r.ReceivedAt <= lastDelivery)
            .Select(r => r.ReceivedAt).Order().ToList();
        Assert.NotEmpty(info);
        Assert.InRange(MaxInAnySecond(info), 1, 2);
        Assert.Equal(0, amo.State.RateLimitedResponses);
    }

    private static int MaxInAnySecond(List<DateTimeOffset> times)
    {
        var max = 0;
        var start = 0;
        for (var end = 0; end < times.Count; end++)
        {
            while (times[end] - times[start] >= TimeSpan.FromSeconds(1))
            {
                start++;
            }

            max = Math.Max(max, end - start + 1);
        }

        return max;
    }
}
