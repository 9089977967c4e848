using Emulator;
using Gateway.Outbox;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Outbox;

public sealed class OutageRecoveryTests
{
    [Fact]
    public async Task After_a_twenty_minute_outage_queued_leads_are_delivered_within_thirty_seconds_of_amoCRMs_return()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;

        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await client.PostQueuedAsync(OutboxTestKit.Lead(i)));
        }

        // Twenty minutes down, a lead arriving now and then: every failed send grew the account's and the leads' backoff.
        for (var step = 0; step < 240; step++)
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(TimeSpan.FromMilliseconds(15), TimeProvider.System);
            if (step % 60 == 30)
            {
                ids.Add(await client.PostQueuedAsync(OutboxTestKit.Lead(100 + step)));
            }
        }

        var callsDuringOutage = amo.State.Requests.Count(r => r.Path.StartsWith("/api/v4/", StringComparison.Ordinal));
        amo.State.Outage = false;

        await WithinAsync(app, clock, TimeSpan.FromSeconds(30), () => client.AllDeliveredAsync(ids), "every lead delivered within 30 s of the recovery");

        OutboxTestKit.AssertEachDeliveredOnce(amo, ids.Count);
        // Probes at most every 15 s (plus the first failures' shorter pauses): nothing against a budget of 7 calls a second.
        Assert.InRange(callsDuringOutage, 1, 20 * 60 / 15 + 20);
    }

    [Fact]
    public async Task During_an_outage_a_probe_and_not_a_batch_asks_whether_amoCRM_is_back()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;
        var first = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        int Posts() => amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted/forms");
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), () => Task.FromResult(Posts() >= 1), "the first send");

        // A minute down with leads arriving: they are stored, and only probes go out.
        var ids = new List<long> { first };
        for (var step = 0; step < 60; step++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await app.Get<OutboxDispatcher>().DispatchAsync(CancellationToken.None);
            if (step % 10 == 0)
            {
                ids.Add(await client.PostQueuedAsync(OutboxTestKit.Lead(10 + step)));
            }
        }

        var postsDuringOutage = Posts();
        var probes = amo.State.Requests.Count(r => r.Path == "/api/v4/account");
        amo.State.Outage = false;
        await WithinAsync(app, clock, TimeSpan.FromSeconds(30), () => client.AllDeliveredAsync(ids), "every lead delivered within 30 s of the recovery");

        Assert.Equal(1, postsDuringOutage);
        Assert.InRange(probes, 3, 60);
        OutboxTestKit.AssertEachDeliveredOnce(amo, ids.Count);
    }

    // A second of fake time at a time, each followed by a whole dispatch pass: the measure is fake time, however slow the machine.
    private static async Task WithinAsync(GatewayApp app, TestTimeProvider clock, TimeSpan limit, Func<Task<bool>> done, string what)
    {
        for (var waited = TimeSpan.Zero; waited <= limit; waited += TimeSpan.FromSeconds(1))
        {
            await app.Get<OutboxDispatcher>().DispatchAsync(CancellationToken.None);
            if (await done())
            {
                return;
            }

            clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Fail($"not within {limit}: {what}");
    }
}
