using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Events;

public sealed class CallbackTests
{
    [Fact]
    public async Task A_delivered_lead_sends_one_signed_callback_that_verifies_with_the_documented_scheme()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = EventsTestKit.App(amo, callbackUrl: EventsTestKit.Sink(amo, "shop"));
        await app.AuthorizeAsync();
        using var shop = app.Client(EventsTestKit.ShopKey);

        await EventsTestKit.PostLeadAsync(shop, 1);

        var callback = await Eventually.SingleAsync(() => amo.Hooks.SinkRequests("shop"), "the lead.delivered callback");
        Assert.True(EventsTestKit.Verifies(callback, EventsTestKit.CallbackSecret), "the signature verifies with the callback secret");
        Assert.False(EventsTestKit.Verifies(callback, "another-secret-0123456789"), "and with no other secret");
        Assert.Equal("lead.delivered", callback.Headers["X-Gateway-Event"]);
        var body = EventsTestKit.Json(callback);
        Assert.Equal(callback.Headers["X-Gateway-Event-Id"], (string?)body["id"]);
        Assert.Equal("lead.delivered", (string?)body["type"]);
        var unsorted = Assert.Single(amo.State.Unsorted);
        Assert.Equal(unsorted.Uid, (string?)body["data"]!["amo_uid"]);
        Assert.Equal(unsorted.LeadId, (long?)body["data"]!["amo_lead_id"]);
        Assert.Equal("shop", (string?)body["data"]!["key"]);

        // Nothing more comes for the same lead.
        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        Assert.Single(amo.Hooks.SinkRequests("shop"));
    }

    [Fact]
    public async Task A_form_submission_that_cannot_be_a_lead_sends_one_signed_lead_rejected_callback_naming_the_problem_not_the_values()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = EventsTestKit.App(amo, callbackUrl: EventsTestKit.Sink(amo, "shop"));
        using var anonymous = app.CreateAnonymousClient();

        var response = await anonymous.PostAsync($"/hooks/cf7/{EventsTestKit.ShopKey}", new StringContent("""{"your-subject":"Maxfiy mavzu"}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var callback = await Eventually.SingleAsync(() => amo.Hooks.SinkRequests("shop"), "the lead.rejected callback");
        Assert.True(EventsTestKit.Verifies(callback, EventsTestKit.CallbackSecret), "the signature verifies with the callback secret");
        Assert.Equal("lead.rejected", callback.Headers["X-Gateway-Event"]);
        var data = EventsTestKit.Json(callback)["data"]!;
        Assert.Equal("cf7", (string?)data["tool"]);
        Assert.Equal("shop", (string?)data["key"]);
        Assert.NotNull(data["problems"]!["contact"]);
        Assert.DoesNotContain("Maxfiy mavzu", callback.Body, StringComparison.Ordinal);
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task With_no_callback_and_no_subscription_a_delivered_lead_stores_no_event()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = EventsTestKit.App(amo);
        await app.AuthorizeAsync();
        using var shop = app.Client(EventsTestKit.ShopKey);

        await EventsTestKit.PostLeadAsync(shop, 1);

        Assert.Single(amo.State.Unsorted);
        // The settled lead's events are built just after its caller is answered: give that a moment.
        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        await using var connection = await app.Get<Gateway.Data.Database>().OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM events";
        Assert.Equal(0L, Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_callback_endpoint_that_is_down_gets_the_event_later_and_once()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = EventsTestKit.App(amo, clock, callbackUrl: EventsTestKit.Sink(amo, "shop"));
        await app.AuthorizeAsync();
        using var shop = app.Client(EventsTestKit.ShopKey);
        amo.Hooks.SetSinkStatus("shop", 503);

        await EventsTestKit.PostLeadAsync(shop, 1);
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), () => Task.FromResult(amo.Hooks.SinkRequests("shop").Count >= 3), "three failed attempts");
        amo.Hooks.SetSinkStatus("shop", 200);
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), () => Task.FromResult(amo.Hooks.SinkRequests("shop").Any(r => r.Status == 200)), "the callback accepted");
        for (var i = 0; i < 20; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(5));
            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
        }

        var requests = amo.Hooks.SinkRequests("shop");
        Assert.Single(requests, r => r.Status == 200);
        Assert.Single(requests.Select(r => r.Headers["X-Gateway-Event-Id"]).Distinct());
        Assert.All(requests, r => Assert.True(EventsTestKit.Verifies(r, EventsTestKit.CallbackSecret)));
        var delivery = Assert.Single(await EventsTestKit.DeliveriesAsync(app.CreateKeyedClient()));
        Assert.Equal("delivered", (string?)delivery!["status"]);
        Assert.Equal(requests.Count, (long?)delivery["attempts"]);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("10.0.0.1")]
    public async Task A_callback_to_a_loopback_metadata_or_private_address_is_refused_by_default(string address)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        // On 127.0.0.1 the emulator's sink would answer: a refusal is the only reason it hears nothing.
        var url = new UriBuilder(EventsTestKit.Sink(amo, "shop")) { Host = address }.Uri;
        await using var app = EventsTestKit.App(amo, callbackUrl: url, settings: new Dictionary<string, string?> { ["ALLOW_PRIVATE_CALLBACKS"] = null });
        await app.AuthorizeAsync();
        using var shop = app.Client(EventsTestKit.ShopKey);
        using var admin = app.CreateKeyedClient();

        await EventsTestKit.PostLeadAsync(shop, 1);

        await Eventually.TrueAsync(async () => (await EventsTestKit.DeliveriesAsync(admin, "dead")).Count == 1, "the callback refused");
        var dead = (await EventsTestKit.DeliveriesAsync(admin, "dead"))[0]!;
        Assert.Contains("refused", (string?)dead["last_error"], StringComparison.Ordinal);
        Assert.Contains(address, (string?)dead["last_error"], StringComparison.Ordinal);
        Assert.Empty(amo.Hooks.SinkRequests("shop"));
    }

    [Fact]
    public async Task A_dead_letter_is_listed_and_an_admin_replays_it()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = EventsTestKit.App(amo, clock, callbackUrl: EventsTestKit.Sink(amo, "shop"), settings: new Dictionary<string, string?> { ["EVENTS_MAX_AGE_SECONDS"] = "60" });
        await app.AuthorizeAsync();
        using var shop = app.Client(EventsTestKit.ShopKey);
        using var admin = app.CreateKeyedClient();
        amo.Hooks.SetSinkStatus("shop", 500);

        await EventsTestKit.PostLeadAsync(shop, 1);
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), async () => (await EventsTestKit.DeliveriesAsync(admin, "dead")).Count == 1, "a dead letter after the maximum age");
        var dead = (await EventsTestKit.DeliveriesAsync(admin, "dead"))[0]!;
        Assert.Equal("HTTP 500", (string?)dead["last_error"]);

        amo.Hooks.SetSinkStatus("shop", 200);
        var replay = await admin.PostAsync($"/api/v1/admin/events/deliveries/{(long)dead["id"]!}/replay", null);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        await Eventually.TrueAsync(() => amo.Hooks.SinkRequests("shop").Any(r => r.Status == 200), "the replayed callback");
        await Eventually.TrueAsync(async () => (await EventsTestKit.DeliveriesAsync(admin, "delivered")).Count == 1, "the delivery settled");
    }
}
