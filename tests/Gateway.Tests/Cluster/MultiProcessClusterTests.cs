using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Xunit.Abstractions;

namespace Gateway.Tests.Cluster;

// Three gateway processes on one database and one amoCRM, as behind a load balancer.
[Trait("Kind", "Process")]
public sealed class MultiProcessClusterTests(ITestOutputHelper output)
{
    private static async Task<List<GatewayProcess>> StartClusterAsync(AmoEmulator amo, DateTimeOffset? believedExpiry = null, Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "7", ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0" };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, believedExpiry, settings);
        // Started together, as a deployment would: migrations and the key ring must cope with the race.
        return [.. await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => GatewayProcess.StartAsync(environment, dir)))];
    }

    // What each process logged is shown with a failure.
    private async Task StopAsync(List<GatewayProcess> cluster)
    {
        await Task.WhenAll(cluster.Select(g => g.DisposeAsync().AsTask()));
        foreach (var (gateway, i) in cluster.Select((g, i) => (g, i)))
        {
            output.WriteLine($"--- instance {i} ---");
            output.WriteLine(gateway.Output.Length > 20_000 ? gateway.Output[^20_000..] : gateway.Output);
        }
    }

    private static void AssertWithinAmoBudget(AmoEmulator amo)
    {
        Assert.Equal(0, amo.State.RateLimitedResponses);
        Assert.InRange(amo.State.MaxRequestsInAnySecond(), 1, 7);
    }

    [Fact]
    public async Task Three_hundred_requests_across_three_instances_at_token_expiry_cause_one_refresh()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond: 7));
        var cluster = await StartClusterAsync(amo, believedExpiry: TimeProvider.System.GetUtcNow().AddDays(-1));
        try
        {
            var clients = cluster.Select(g => g.CreateKeyedClient()).ToArray();

            var responses = await Task.WhenAll(Enumerable.Range(0, 300).Select(i =>
                clients[i % 3].PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i))));

            Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted }));
            await Eventually.TrueAsync(() => amo.State.Unsorted.Count >= 300, "all 300 leads delivered", TimeSpan.FromSeconds(60));
            Assert.Equal(1, amo.State.RefreshGrants);
            OutboxTestKit.AssertEachDeliveredOnce(amo, 300);
            AssertWithinAmoBudget(amo);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [Fact]
    public async Task A_thousand_leads_across_three_instances_are_delivered_once_within_seven_requests_a_second()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond: 7));
        // Small batches, so the thousand leads take a hundred calls that the three instances compete for.
        var cluster = await StartClusterAsync(amo, extra: new() { ["OUTBOX_BATCH_SIZE"] = "10", ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        try
        {
            var clients = cluster.Select(g => g.CreateKeyedClient()).ToArray();

            var responses = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i =>
                clients[i % 3].PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i))));

            // Without a wait most answers are 202; a lead another instance delivered before the read-back answers 200.
            Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted }));
            await Eventually.TrueAsync(() => amo.State.Unsorted.Count >= 1000, "all 1,000 leads delivered", TimeSpan.FromSeconds(90));
            OutboxTestKit.AssertEachDeliveredOnce(amo, 1000);
            AssertWithinAmoBudget(amo);
            output.WriteLine($"calls {amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted/forms")}, max in any second {amo.State.MaxRequestsInAnySecond()}");
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [Fact]
    public async Task Leads_of_an_instance_killed_mid_burst_are_delivered_by_the_others()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond: 7));
        var cluster = await StartClusterAsync(amo, extra: new()
        {
            ["OUTBOX_BATCH_SIZE"] = "10",
            ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0",
            ["OUTBOX_LEASE_SECONDS"] = "5",
            ["AMO_TIMEOUT_SECONDS"] = "3",
        });
        // Slow answers keep the doomed instance's batches in flight when it dies.
        amo.State.Delay = TimeSpan.FromMilliseconds(300);
        var doomed = cluster[0];
        try
        {
            var clients = cluster.Select(g => g.CreateKeyedClient()).ToArray();
            var acknowledged = new List<string>();
            var sends = Enumerable.Range(0, 600).Select(async i =>
            {
                try
                {
                    var response = await clients[i % 3].PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i));
                    if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted)
                    {
                        var uid = (string)(await response.ReadObjectAsync())["data"]!["source_uid"]!;
                        lock (acknowledged)
                        {
                            acknowledged.Add(uid);
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    // Cut off by the kill: never acknowledged, so the gateway owes nothing for it.
                }
            }).ToList();

            await Eventually.TrueAsync(() => amo.State.Unsorted.Count >= 50, "deliveries under way", TimeSpan.FromSeconds(30));
            doomed.Kill();
            await Task.WhenAll(sends);
            var deliveredAtKill = amo.State.Unsorted.Count;

            await Eventually.TrueAsync(
                () => acknowledged.All(uid => amo.State.Unsorted.Any(u => u.SourceUid == uid)),
                "every acknowledged lead delivered by the survivors",
                TimeSpan.FromSeconds(90));

            var duplicates = amo.State.Unsorted.GroupBy(u => u.SourceUid).Sum(g => g.Count() - 1);
            output.WriteLine($"acknowledged {acknowledged.Count}, in amoCRM at the kill {deliveredAtKill}, now {amo.State.Unsorted.Count}, duplicates {duplicates}");
            Assert.True(acknowledged.Count >= 400, $"only {acknowledged.Count} acknowledged");
            // Only batches in flight at the kill can be sent twice: at most one per worker of the dead instance.
            Assert.True(duplicates <= 20, $"{duplicates} duplicates");
            AssertWithinAmoBudget(amo);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }
}
