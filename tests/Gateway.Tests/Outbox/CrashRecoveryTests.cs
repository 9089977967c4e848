using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Outbox;

[Trait("Kind", "Process")]
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_lead_acknowledged_before_a_kill_9_is_delivered_after_a_restart()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?>
        {
            ["AMO_TIMEOUT_SECONDS"] = "3",
            ["OUTBOX_LEASE_SECONDS"] = "5",
            ["OUTBOX_BATCH_SIZE"] = "10",
            // The test reads back up to 300 leads one by one, several times over: more than a key's 600 a minute.
            ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0",
        });
        amo.State.Delay = TimeSpan.FromMilliseconds(40);

        var acknowledged = new List<long>();
        await using (var doomed = await GatewayProcess.StartAsync(environment, dir))
        {
            using var client = doomed.CreateKeyedClient();
            var sends = Enumerable.Range(0, 300).Select(async i =>
            {
                try
                {
                    var response = await client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i));
                    if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted)
                    {
                        var id = (await response.ReadObjectAsync())["data"]!["id"]!.GetValue<long>();
                        lock (acknowledged)
                        {
                            acknowledged.Add(id);
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    // Cut off by the kill: never acknowledged, so the gateway owes nothing for it.
                }
            }).ToList();

            await Eventually.TrueAsync(() => amo.State.Unsorted.Count >= 60, "deliveries under way");
            doomed.Kill();
            await Task.WhenAll(sends);
        }

        var deliveredBeforeKill = amo.State.Unsorted.Count;
        await using var restarted = await GatewayProcess.StartAsync(environment, dir);
        using var after = restarted.CreateKeyedClient();
        await Eventually.TrueAsync(() => after.AllDeliveredAsync(acknowledged), "every acknowledged lead delivered", TimeSpan.FromSeconds(60));

        var bySourceUid = amo.State.Unsorted.GroupBy(u => u.SourceUid).ToList();
        var duplicates = bySourceUid.Sum(g => g.Count() - 1);
        output.WriteLine($"acknowledged {acknowledged.Count}, delivered before the kill {deliveredBeforeKill}, in amoCRM {amo.State.Unsorted.Count}, duplicates {duplicates}");
        foreach (var id in acknowledged)
        {
            var uid = (string?)(await after.LeadAsync(id))["source_uid"];
            Assert.Contains(bySourceUid, g => g.Key == uid);
        }

        // Only a batch in flight at the kill can be sent twice: at most one batch per worker.
        Assert.True(duplicates <= 20, $"{duplicates} duplicates");
    }
}
