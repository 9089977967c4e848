using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Events;

public sealed class EventsCrashTests
{
    [Fact]
    public async Task A_lead_settled_but_whose_event_could_not_be_stored_still_sends_its_callback_once_after_the_sweep()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = EventsTestKit.App(amo, clock, callbackUrl: EventsTestKit.Sink(amo, "shop"));
        await app.AuthorizeAsync();
        using var shop = app.Client(EventsTestKit.ShopKey);
        // The settlement commits, the event's insert cannot: what a kill between the two commits leaves behind.
        await ExecuteAsync(app, "ALTER TABLE events RENAME TO events_away");

        await EventsTestKit.PostLeadAsync(shop, 1);
        await Eventually.TrueAsync(
            () => app.Logs.Lines.Any(l => l.Message.Contains("could not be stored", StringComparison.Ordinal)), "the event's insert refused");
        await ExecuteAsync(app, "ALTER TABLE events_away RENAME TO events");
        Assert.Empty(amo.Hooks.SinkRequests("shop"));

        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(10), () => Task.FromResult(amo.Hooks.SinkRequests("shop").Count > 0), "the owed callback");
        for (var i = 0; i < 10; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(31));
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }

        var callback = Assert.Single(amo.Hooks.SinkRequests("shop"));
        Assert.Equal("lead.delivered", callback.Headers["X-Gateway-Event"]);
        Assert.True(EventsTestKit.Verifies(callback, EventsTestKit.CallbackSecret), "the late callback is signed like any other");
        Assert.Equal(Assert.Single(amo.State.Unsorted).LeadId, (long?)EventsTestKit.Json(callback)["data"]!["amo_lead_id"]);
        Assert.Equal(0L, await ScalarAsync(app, "SELECT COUNT(*) FROM leads WHERE outcome_event IS NOT NULL"));
    }

    private static async Task ExecuteAsync(GatewayApp app, string sql)
    {
        await using var connection = await app.Get<Gateway.Data.Database>().OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(GatewayApp app, string sql)
    {
        await using var connection = await app.Get<Gateway.Data.Database>().OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

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
