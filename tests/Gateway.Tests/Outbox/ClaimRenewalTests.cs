using Emulator;
using Gateway.Data;
using Gateway.Outbox;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Outbox;

public sealed class ClaimRenewalTests
{
    [Fact]
    public async Task A_lead_whose_claim_ran_out_is_claimed_again_first_and_marked_lapsed_then_due_leads_oldest_first_and_never_twice()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        using var client = app.CreateKeyedClient();
        var store = app.Get<LeadStore>();

        // Without a token nothing delivers: the test alone claims. The first lead's claimant dies with it.
        var first = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        Assert.Equal(first, Assert.Single(await store.ClaimAsync(GatewayApp.Domain, 50, TimeSpan.FromMinutes(2), CancellationToken.None)).Id);
        clock.Advance(TimeSpan.FromSeconds(1));
        var later = new List<long>();
        for (var i = 2; i <= 4; i++)
        {
            later.Add(await client.PostQueuedAsync(OutboxTestKit.Lead(i)));
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        // While its lease lasts the first lead is nobody else's; once it has run out it comes back before the others,
        // marked as lapsed since its first claim (that claimant may have sent it), while a due lead carries no mark.
        var claimedAt = clock.GetUtcNow().AddSeconds(-4);
        Assert.Equal(later[..2], (await store.ClaimAsync(GatewayApp.Domain, 2, TimeSpan.FromMinutes(10), CancellationToken.None)).Select(l => l.Id));
        clock.Advance(TimeSpan.FromMinutes(3));
        var lapsed = Assert.Single(await store.ClaimAsync(GatewayApp.Domain, 1, TimeSpan.FromMinutes(2), CancellationToken.None));
        Assert.Equal(first, lapsed.Id);
        Assert.Equal(claimedAt.ToUnixTimeMilliseconds(), lapsed.LapsedSince?.ToUnixTimeMilliseconds());
        Assert.Null(lapsed.UnconfirmedSince);
        var due = Assert.Single(await store.ClaimAsync(GatewayApp.Domain, 50, TimeSpan.FromMinutes(2), CancellationToken.None));
        Assert.Equal(later[2], due.Id);
        Assert.Null(due.LapsedSince);
        Assert.Empty(await store.ClaimAsync(GatewayApp.Domain, 50, TimeSpan.FromMinutes(2), CancellationToken.None));
    }

    [Fact]
    public async Task A_batch_whose_claim_passed_on_while_it_waited_for_the_token_is_withdrawn_not_sent_twice()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?>
        {
            ["OUTBOX_LEASE_SECONDS"] = "30",
            ["AMO_TIMEOUT_SECONDS"] = "5",
            ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0",
            // One worker, blocked on the token: only the test plays the second claimant, so nothing races it.
            ["OUTBOX_WORKERS"] = "1",
        });
        // The token is expired and another process holds the refresh lease for a minute: the worker that claims
        // the lead waits for that lease, longer than its own 30 s claim.
        await app.AuthorizeAsync(expiresAt: clock.GetUtcNow().AddMinutes(-1));
        Assert.True(await app.Get<LeaseStore>().TryAcquireAsync("token-refresh:" + GatewayApp.Domain, "another-process", TimeSpan.FromMinutes(1), CancellationToken.None));
        using var client = app.CreateKeyedClient();
        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(id))["status"] == "delivering", "the lead claimed");

        // Its claim runs out and another instance's worker takes the lead (and is about to send it itself).
        clock.Advance(TimeSpan.FromSeconds(31));
        // A long claim: nothing but the stale worker can send the lead while the test watches for the withdrawal.
        var stolen = await app.Get<LeadStore>().ClaimAsync(GatewayApp.Domain, 50, TimeSpan.FromMinutes(5), CancellationToken.None);
        Assert.Equal(id, Assert.Single(stolen).Id);

        // The refresh lease frees; the first worker gets its token, finds its claim gone and sends nothing. Past the
        // lease the clock creeps (50 ms a step, 100 s at most): a loaded machine gets real time to finish the refresh
        // while the stolen five-minute claim stays far from running out.
        clock.Advance(TimeSpan.FromSeconds(30));
        await clock.AdvanceUntilAsync(TimeSpan.FromMilliseconds(50), () => Task.FromResult(app.Logs.Lines.Any(l => l.Message.Contains("were not sent", StringComparison.Ordinal))), "the stale batch withdrawn", maxSteps: 2000);
        Assert.Empty(amo.State.Unsorted);

        // The other claim is never settled here (its "instance" died): once it runs out, the lead goes out exactly once.
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), () => client.AllDeliveredAsync([id]), "the lead delivered", maxSteps: 2000);
        OutboxTestKit.AssertEachDeliveredOnce(amo, 1);
    }
}
