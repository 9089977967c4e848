using System.Net;
using Emulator;
using Gateway.Outbox;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Outbox;

public sealed class BurstIntakeTests
{
    [Fact]
    public async Task Once_the_accounts_calls_of_the_last_second_are_spent_the_next_lead_is_answered_202_at_once()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = await StartedAsync(amo, clock);
        using var client = app.CreateKeyedClient();

        // Two leads together spend the account's two calls of this second, with the clock standing still: how long a
        // step of the fake clock takes in real time can then never free a call before the third lead comes.
        var two = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i))));
        Assert.All(two, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await app.Get<OutboxDispatcher>().DispatchAsync(CancellationToken.None);

        // The caller is told "queued" at once (waiting for its own delivery, it would need a call to free up first).
        var third = client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(2));
        Assert.Same(third, await Task.WhenAny(third, Task.Delay(TimeSpan.FromSeconds(5), TimeProvider.System)));

        var queued = await ApiAssert.EnvelopeAsync(await third, HttpStatusCode.Accepted);
        var id = queued["data"]!["id"]!.GetValue<long>();
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), () => client.AllDeliveredAsync([id]), "the queued lead delivered");
        OutboxTestKit.AssertEachDeliveredOnce(amo, 3);
    }

    [Fact]
    public async Task A_lone_lead_after_a_burst_is_again_answered_200_with_amoCRMs_ids()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = await StartedAsync(amo, clock);
        using var client = app.CreateKeyedClient();
        await FourTogetherAsync(app, client, clock);

        clock.Advance(TimeSpan.FromSeconds(3));
        var lone = await ApiAssert.SuccessDataAsync(await client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(9)));

        Assert.Equal(amo.State.Unsorted.Single(u => u.SourceUid == (string?)lone["source_uid"]).LeadId, lone["lead_id"]!.GetValue<long>());
    }

    // Two calls a second and one lead per batch: of four leads sent together, the third and fourth wait for a call.
    private static async Task<GatewayApp> StartedAsync(AmoEmulator amo, TestTimeProvider clock)
    {
        var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "2", ["OUTBOX_BATCH_SIZE"] = "1" });
        await app.AuthorizeAsync();
        clock.Advance(TimeSpan.FromSeconds(5));
        return app;
    }

    private static async Task FourTogetherAsync(GatewayApp app, HttpClient client, TestTimeProvider clock)
    {
        var four = Task.WhenAll(Enumerable.Range(0, 4).Select(i => client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i))));
        await clock.AdvanceUntilAsync(TimeSpan.FromMilliseconds(100), () => Task.FromResult(app.Amo.State.Unsorted.Count == 4), "the four delivered");
        Assert.All(await four, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted }));
        // The drain has ended (its last claim found the queue empty): only the rate can make the next lead wait.
        await app.Get<OutboxDispatcher>().DispatchAsync(CancellationToken.None);
    }
}
