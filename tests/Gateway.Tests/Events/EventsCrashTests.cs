using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Events;

public sealed class EventsCrashTests
{
    [Fact]
    public async Task A_webhook_received_but_not_yet_forwarded_when_the_gateway_is_killed_is_forwarded_after_the_restart()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var subscriptions = $$"""{"subscriptions":[{"name":"erp","events":["amocrm.*"],"url":"{{EventsTestKit.Sink(amo, "erp")}}","secret":"erp-secret-0123456789"}]}""";
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?>
        {
            ["ALLOW_PRIVATE_CALLBACKS"] = "true",
            ["SUBSCRIPTIONS_FILE"] = Path.Combine(Directory.CreateTempSubdirectory("gateway-subs-").FullName, "subscriptions.json"),
            ["EVENTS_TIMEOUT_SECONDS"] = "2",
            ["EVENTS_LEASE_SECONDS"] = "3",
        });
        await File.WriteAllTextAsync(environment["SUBSCRIPTIONS_FILE"]!, subscriptions);
        // The subscriber is down: the event is stored and answered for, and has not gone anywhere yet.
        amo.Hooks.SetSinkStatus("erp", 503);

        await using (var doomed = await GatewayProcess.StartAsync(environment, dir))
        {
            using var admin = doomed.CreateKeyedClient();
            amo.Hooks.AddDestination(new Uri(doomed.BaseUrl, await EventsTestKit.WebhookPathAsync(admin)).ToString());
            var sent = Assert.Single(await amo.Hooks.ChangeStatusAsync(leadId: 42, pipelineId: 100, statusId: 142));
            Assert.Equal(200, sent.Status);
            await Eventually.TrueAsync(() => amo.Hooks.SinkRequests("erp").Count >= 1, "the first, refused, forward");
            doomed.Kill();
        }

        amo.Hooks.SetSinkStatus("erp", 200);
        await using var restarted = await GatewayProcess.StartAsync(environment, dir);

        await Eventually.TrueAsync(() => amo.Hooks.SinkRequests("erp").Any(r => r.Status == 200), "the forward after the restart", TimeSpan.FromSeconds(30));
        var requests = amo.Hooks.SinkRequests("erp");
        Assert.Single(requests, r => r.Status == 200);
        Assert.Single(requests.Select(r => r.Headers["X-Gateway-Event-Id"]).Distinct());
        Assert.Equal(42, (long?)EventsTestKit.Json(requests[^1])["data"]!["id"]);
    }
}
