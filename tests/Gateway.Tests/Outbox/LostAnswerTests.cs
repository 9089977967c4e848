using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Amo;
using Gateway.Outbox;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Operations;

namespace Gateway.Tests.Outbox;

// amoCRM did the work and the answer never came: the gateway looks before it sends again, so nothing is duplicated.
public sealed class LostAnswerTests
{
    private const string Account = GatewayApp.Domain;

    public static TheoryData<string> Modes() => [LostAnswer.Timeout, LostAnswer.Reset, "502", "503", "504"];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_hundred_and_fifty_leads_with_thirty_percent_of_answers_lost_after_processing_reach_amoCRM_exactly_once_each(string mode)
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?>
        {
            ["AMO_RATE_LIMIT"] = "50",
            // A lost answer of the timeout kind costs the whole timeout in real time: fewer, larger batches keep the run
            // short. The timeout stays long enough that a busy machine does not time out a call amoCRM has yet to carry
            // out (the look would come before it, as it may in life: see README, Lost answers).
            ["OUTBOX_BATCH_SIZE"] = mode == LostAnswer.Timeout ? "10" : "5",
            ["AMO_TIMEOUT_SECONDS"] = mode == LostAnswer.Timeout ? "5" : "10",
            ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0",
            // The clock moves 20 s a step while batches wait for their calls in real time: with the usual two minutes a
            // claim could run out before its send, and this test is of lost answers, not of lapsed claims.
            ["OUTBOX_LEASE_SECONDS"] = "3600",
        });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Seed = 42;
        amo.State.LostAnswerMode = mode;
        amo.State.LostAnswerRatio = 0.3;

        var responses = await Task.WhenAll(Enumerable.Range(0, 150).Select(i => client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i))));
        var ids = new List<long>();
        foreach (var response in responses)
        {
            Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted });
            ids.Add((await response.ReadObjectAsync())["data"]!["id"]!.GetValue<long>());
        }

        // Steps take real time too (about 15 ms each): enough of them for the lost timeouts to run out in real time.
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(20), async () => (await DeliveredAsync(client)).Count == 150, "every lead delivered", maxSteps: 6000);

        Assert.True(amo.State.LostAnswers >= 3, $"only {amo.State.LostAnswers} answers were lost");
        OutboxTestKit.AssertEachDeliveredOnce(amo, 150);
        var bySourceUid = amo.State.Unsorted.ToDictionary(u => u.SourceUid);
        foreach (var lead in await DeliveredAsync(client))
        {
            var created = bySourceUid[(string)lead["source_uid"]!];
            Assert.Equal(created.Uid, (string?)lead["uid"]);
            Assert.Equal(created.LeadId, lead["lead_id"]!.GetValue<long>());
            Assert.Equal(created.ContactId, lead["contact_id"]!.GetValue<long>());
        }

        var metrics = await MetricsTests.ScrapeAsync(client);
        Assert.True(Reconciled(metrics, "found", "leads") > 0);
        Assert.Null(Reconciled(metrics, "resent", "leads"));
        Assert.True(MetricsTests.Sample(metrics, "gateway_delivery_lost_answers_total", Labels("leads")) > 0);
    }

    // renewed: the claim was renewed (and so marked) before the send, as an old claim is; otherwise the send of a fresh
    // claim wrote nothing before it went out, and the claim that finds its lease run out is what marks the lead.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_lead_whose_sender_died_after_its_send_started_is_found_by_the_next_claimant_not_sent_again(bool renewed)
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        using var client = app.CreateKeyedClient();
        var store = app.Get<LeadStore>();

        // Without a token nothing delivers, so the test alone plays the worker that is about to die.
        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        var claimed = Assert.Single(await store.ClaimAsync(Account, 10, TimeSpan.FromMinutes(2), CancellationToken.None));
        await app.AuthorizeAsync();

        // Its send: composed as the dispatcher composes it and sent through the gateway's own client with its claim guard.
        // amoCRM creates the lead; the process dies before it settles anything.
        var composed = await app.Get<ILeadComposer>().ComposeAsync(Account, [claimed], CancellationToken.None);
        var sent = await app.Get<AmoClient>().PostAsync(
            Account, "api/v4/leads/unsorted/forms", new JsonArray(composed.Ready[0].Item.DeepClone()),
            () => renewed ? store.RenewClaimAsync(claimed.ClaimToken, [claimed.Id], TimeSpan.FromMinutes(2), CancellationToken.None) : Task.FromResult(true),
            CancellationToken.None);
        Assert.True(sent.Ok);
        var created = Assert.Single(amo.State.Unsorted);

        // The claim runs out; the next claimant finds the lead in amoCRM.
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(15), () => client.AllDeliveredAsync([id]), "the lead settled after the lease");

        OutboxTestKit.AssertEachDeliveredOnce(amo, 1);
        Assert.Single(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms");
        var lead = await client.LeadAsync(id);
        Assert.Equal(created.Uid, (string?)lead["uid"]);
        Assert.Equal(created.LeadId, lead["lead_id"]!.GetValue<long>());
        Assert.Equal(1, Reconciled(await MetricsTests.ScrapeAsync(client), "found", "leads"));
    }

    [Fact]
    public async Task A_lead_found_by_the_look_gets_its_note_once_and_a_note_whose_answer_was_lost_is_not_sent_twice()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.LostAnswerMode = "502";
        amo.State.LostAnswerRatio = 1;

        // The lead's answer is lost; the look finds it; its note goes and that answer is lost too.
        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1).Replace("}}", "},\"comment\":\"Qayta qo'ng'iroq qiling\"}", StringComparison.Ordinal));
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), () => Task.FromResult(amo.State.LostAnswers == 2), "the lead's and its note's answers lost");
        amo.State.LostAnswerRatio = 0;
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), async () => (string?)(await client.LeadAsync(id))["note_status"] == "delivered", "the note settled");

        var created = Assert.Single(amo.State.Unsorted);
        var note = Assert.Single(amo.State.Notes);
        Assert.Equal(created.LeadId, note.EntityId);
        Assert.Equal("Qayta qo'ng'iroq qiling", note.Text);
        Assert.Equal(note.Id, (await client.LeadAsync(id))["note_id"]!.GetValue<long>());
        Assert.Single(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms");
        Assert.Single(amo.State.Requests, r => r.Path == "/api/v4/leads/notes" && r.Method == "POST");
        var metrics = await MetricsTests.ScrapeAsync(client);
        Assert.Equal(1, Reconciled(metrics, "found", "leads"));
        Assert.Equal(1, Reconciled(metrics, "found", "notes"));
    }

    [Fact]
    public async Task A_look_while_amoCRM_is_still_failing_sends_nothing_and_the_lead_waits_queued()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.LostAnswerMode = LostAnswer.Reset;
        amo.State.LostAnswerRatio = 1;

        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        amo.State.LostAnswerRatio = 0;
        // The unsorted list still failing while the account answers the outage probe: each look fails, nothing is sent.
        for (var i = 0; i < 3; i++)
        {
            amo.State.EnqueueResponse("/api/v4/leads/unsorted", 503, "<html>503</html>", "text/html");
        }

        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), () => Task.FromResult(amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted" && r.Status == 503) >= 3), "three failed looks");

        Assert.Single(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms");
        Assert.Contains((string?)(await client.LeadAsync(id))["status"], new[] { "queued", "delivering" });
        Assert.Null(Reconciled(await MetricsTests.ScrapeAsync(client), "resent", "leads"));

        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(30), () => client.AllDeliveredAsync([id]), "the lead found once amoCRM is back");
        OutboxTestKit.AssertEachDeliveredOnce(amo, 1);
        Assert.Single(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms");
    }

    [Fact]
    public async Task An_item_a_manager_accepted_between_the_lost_answer_and_the_look_is_sent_again_and_counted()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.LostAnswerMode = "504";
        amo.State.LostAnswerRatio = 1;

        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        amo.State.LostAnswerRatio = 0;
        using var control = new HttpClient { BaseAddress = amo.BaseUrl };
        Assert.Equal(HttpStatusCode.NoContent, (await control.PostAsync($"/_emulator/unsorted/{Assert.Single(amo.State.Unsorted).Uid}/accept", null)).StatusCode);
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), () => client.AllDeliveredAsync([id]), "the lead sent again");

        // The documented gap: the accepted item had left the list, so the look could not see it.
        var sourceUid = (string?)(await client.LeadAsync(id))["source_uid"];
        Assert.Equal([UnsortedStatus.Accepted, UnsortedStatus.Pending], amo.State.Unsorted.Where(u => u.SourceUid == sourceUid).Select(u => u.Status));
        var metrics = await MetricsTests.ScrapeAsync(client);
        Assert.Equal(1, Reconciled(metrics, "resent", "leads"));
        Assert.Null(Reconciled(metrics, "found", "leads"));
        Assert.Equal(1, MetricsTests.Sample(metrics, "gateway_reconcile_calls_total", Labels("leads")));
        Assert.Contains(app.Logs.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning && l.Message.StartsWith($"Leads {id} of {Account} are sent again: their earlier answer was lost", StringComparison.Ordinal));
    }

    private static string Labels(string kind) => $"account=\"{Account}\",kind=\"{kind}\"";

    private static double? Reconciled(string metrics, string what, string kind) =>
        MetricsTests.Sample(metrics, $"gateway_reconcile_{what}_total", Labels(kind));

    // The delivered leads, read through the list endpoint page by page.
    private static async Task<IReadOnlyList<JsonObject>> DeliveredAsync(HttpClient client)
    {
        var leads = new List<JsonObject>();
        long after = 0;
        while (true)
        {
            var page = await ApiAssert.SuccessDataAsync(await client.GetAsync($"/api/v1/leads?status=delivered&limit=250&after={after}"));
            leads.AddRange(page["leads"]!.AsArray().Select(l => l!.AsObject()));
            if (page["next_after"] is not { } next)
            {
                return leads;
            }

            after = next.GetValue<long>();
        }
    }
}
