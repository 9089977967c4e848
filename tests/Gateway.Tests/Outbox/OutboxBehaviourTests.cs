using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Data;
using Gateway.Outbox;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Outbox;

public sealed class OutboxBehaviourTests
{
    private static async Task<HttpResponseMessage> PostWithKeyAsync(HttpClient client, string key, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/leads/unsorted") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task A_repeat_with_the_same_idempotency_key_returns_the_first_outcome_and_creates_nothing()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var first = await ApiAssert.SuccessDataAsync(await PostWithKeyAsync(client, "order-42", OutboxTestKit.Lead(1)));
        var repeat = await ApiAssert.SuccessDataAsync(await PostWithKeyAsync(client, "order-42", OutboxTestKit.Lead(1)));

        Assert.Equal(first["id"]!.GetValue<long>(), repeat["id"]!.GetValue<long>());
        Assert.Equal((string?)first["uid"], (string?)repeat["uid"]);
        Assert.Single(amo.State.Unsorted);
    }

    [Fact]
    public async Task The_same_idempotency_key_with_another_body_is_a_422_conflict()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        await PostWithKeyAsync(client, "order-42", OutboxTestKit.Lead(1));

        var conflict = await PostWithKeyAsync(client, "order-42", OutboxTestKit.Lead(2));

        var details = await ApiAssert.FailureAsync(conflict, HttpStatusCode.UnprocessableEntity, "Idempotency key conflict");
        Assert.Contains("different request body", (string?)details!["Idempotency-Key"], StringComparison.Ordinal);
        Assert.Single(amo.State.Unsorted);
    }

    [Fact]
    public async Task An_idempotency_key_longer_than_200_characters_is_refused()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await PostWithKeyAsync(client, new string('k', 201), OutboxTestKit.Lead(1));

        await ApiAssert.FailureAsync(response, HttpStatusCode.UnprocessableEntity, "Validation failed");
    }

    [Fact]
    public async Task Concurrent_repeats_of_one_idempotency_key_store_one_lead()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => PostWithKeyAsync(client, "burst", OutboxTestKit.Lead(7))));

        var ids = new HashSet<long>();
        foreach (var response in responses)
        {
            var body = await response.ReadObjectAsync();
            ids.Add(body["data"]!["id"]!.GetValue<long>());
        }

        Assert.Single(ids);
        await Eventually.TrueAsync(() => amo.State.Unsorted.Count == 1, "the one lead delivered");
        Assert.Single(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_lead_claimed_by_a_process_that_died_is_delivered_after_its_lease_runs_out()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        using var client = app.CreateKeyedClient();

        // Without a token nothing delivers, so this test alone decides who claims the lead.
        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));

        // What a killed process leaves behind: the row claimed, its lease running, no answer recorded.
        var claimed = await app.Get<LeadStore>().ClaimAsync(GatewayApp.Domain, 10, TimeSpan.FromMinutes(2), CancellationToken.None);
        Assert.Equal(id, Assert.Single(claimed).Id);
        await app.AuthorizeAsync();
        clock.Advance(TimeSpan.FromSeconds(90));
        await app.Get<OutboxDispatcher>().DispatchAsync(CancellationToken.None);
        Assert.Equal("delivering", (string?)(await client.LeadAsync(id))["status"]);
        Assert.Empty(amo.State.Unsorted);

        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(15), () => client.AllDeliveredAsync([id]), "delivery after the lease");

        OutboxTestKit.AssertEachDeliveredOnce(amo, 1);
    }

    [Fact]
    public async Task A_worker_whose_lease_ran_out_cannot_overwrite_what_the_next_claimant_settled()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        using var client = app.CreateKeyedClient();
        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        var store = app.Get<LeadStore>();

        var stale = Assert.Single(await store.ClaimAsync(GatewayApp.Domain, 10, TimeSpan.FromMinutes(1), CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(2));
        var current = Assert.Single(await store.ClaimAsync(GatewayApp.Domain, 10, TimeSpan.FromMinutes(1), CancellationToken.None));
        await store.SettleAsync(current.ClaimToken, [new DeliveredLead(id, current.SourceUid, "uid-1", 7, 8, "{}", null)], [], null, CancellationToken.None);
        await store.SettleAsync(stale.ClaimToken, [], [new FailedLead(id, "{}")], null, CancellationToken.None);
        await store.SettleAsync(stale.ClaimToken, [], [], new LeadRequeue([(id, clock.GetUtcNow())], null, CountAttempt: true, Solo: false), CancellationToken.None);

        Assert.Equal("delivered", (string?)(await client.LeadAsync(id))["status"]);
    }

    [Fact]
    public async Task A_sibling_batch_that_started_before_a_429_does_not_lift_the_pause_it_caused()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        var accounts = app.Get<AccountDeliveryState>();
        var siblingStarted = clock.GetUtcNow();
        clock.Advance(TimeSpan.FromMilliseconds(200));

        await accounts.RecordFailureAsync(GatewayApp.Domain, new Gateway.Amo.AmoResult(Gateway.Amo.AmoFailure.RateLimited, 429, null, "429"), CancellationToken.None);
        await accounts.RecordSuccessAsync(GatewayApp.Domain, siblingStarted, CancellationToken.None);
        Assert.True(await accounts.IsPausedAsync(GatewayApp.Domain, CancellationToken.None));

        await accounts.RecordSuccessAsync(GatewayApp.Domain, clock.GetUtcNow(), CancellationToken.None);
        Assert.False(await accounts.IsPausedAsync(GatewayApp.Domain, CancellationToken.None));
    }

    [Fact]
    public async Task A_success_answer_that_does_not_name_a_lead_makes_it_a_dead_letter_not_a_blind_resend()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        for (var i = 0; i < 5; i++)
        {
            amo.State.EnqueueResponse("/api/v4/leads/unsorted", 200, """{"_total_items":0,"_embedded":{"unsorted":[]}}""", "application/hal+json");
        }

        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(1));
        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.UnprocessableEntity, "Failed to create lead in AmoCRM");
        for (var i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(5));
            await app.Get<OutboxDispatcher>().DispatchAsync(CancellationToken.None);
        }

        Assert.Equal(1, amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted/forms"));
        Assert.Contains("may exist in amoCRM", (string?)details!["description"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_400_naming_no_item_of_the_batch_sends_each_lead_alone_and_fails_only_the_culprit()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        using var client = app.CreateKeyedClient();
        var good = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        var bad = await client.PostQueuedAsync(OutboxTestKit.Lead(2, ""","custom_fields":[{"field_id":100003,"values":[{"enum_id":999}]}]"""));
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400,
            """{"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"custom_fields_values.0.field_id","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}""",
            "application/problem+json");
        await app.AuthorizeAsync();

        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), async () => (string?)(await client.LeadAsync(bad))["status"] == "failed" && await client.AllDeliveredAsync([good]), "the culprit isolated");

        var sizes = amo.State.Requests.Where(r => r.Path == "/api/v4/leads/unsorted/forms").Select(r => JsonNode.Parse(r.Body)!.AsArray().Count).ToList();
        Assert.Equal(2, sizes[0]);
        Assert.All(sizes.Skip(1), size => Assert.Equal(1, size));
        OutboxTestKit.AssertEachDeliveredOnce(amo, 1);
    }

    [Fact]
    public async Task A_note_amoCRM_rejects_fails_alone_without_pausing_the_accounts_leads()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/leads/notes", 400, """{"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}""", "application/problem+json");

        var withNote = (await ApiAssert.SuccessDataAsync(await client.PostJsonAsync("/api/v1/leads/unsorted", """{"lead":{"name":"A"},"contact":{"phone":"+998901"},"comment":"x"}""")))["id"]!.GetValue<long>();
        await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(withNote))["note_status"] == "failed", "the note to fail");
        var next = await client.PostQueuedAsync(OutboxTestKit.Lead(2), HttpStatusCode.OK);

        var queue = await ApiAssert.SuccessDataAsync(await client.GetAsync("/api/v1/diagnostics/queue"));
        Assert.Null((string?)queue["pause_reason"]);
        Assert.Equal("delivered", (string?)(await client.LeadAsync(withNote))["status"]);
        Assert.Equal("delivered", (string?)(await client.LeadAsync(next))["status"]);
        OutboxTestKit.AssertEachDeliveredOnce(amo, 2);
    }

    [Fact]
    public async Task A_dead_letter_retried_after_a_week_gets_a_fresh_chance_instead_of_failing_at_its_first_hiccup()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1, ""","custom_fields":[{"field_id":100003,"values":[{"enum_id":999}]}]"""), HttpStatusCode.BadRequest);
        clock.Advance(TimeSpan.FromDays(8));
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 503, "<html>503</html>", "text/html");

        await client.PostAsync($"/api/v1/leads/{id}/retry", null);
        await Eventually.TrueAsync(() => amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted/forms") == 2, "the retry's first attempt");

        await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(id))["status"] == "queued", "the lead back in the queue");
    }

    [Theory]
    [InlineData(402, "402")]
    [InlineData(403, "403")]
    public async Task A_blocked_account_pauses_delivery_with_a_clear_reason_and_does_not_hammer(int mode, string reasonPart)
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.BlockMode = mode;

        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        for (var i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            await app.Get<OutboxDispatcher>().DispatchAsync(CancellationToken.None);
        }

        Assert.Equal(1, amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted/forms"));
        var queue = await ApiAssert.SuccessDataAsync(await client.GetAsync("/api/v1/diagnostics/queue"));
        Assert.Contains(reasonPart, (string?)queue["pause_reason"], StringComparison.Ordinal);
        Assert.Equal(1, queue["depth"]!.GetValue<long>());

        amo.State.BlockMode = 0;
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(30), () => client.AllDeliveredAsync([id]), "delivery once unblocked");
    }

    [Fact]
    public async Task A_504_halves_the_batch()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        // One worker: two could split the first batch between them (SKIP LOCKED), and the 504 would meet a part of it.
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["OUTBOX_BATCH_SIZE"] = "8", ["OUTBOX_WORKERS"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;
        var ids = new List<long>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add(await client.PostQueuedAsync(OutboxTestKit.Lead(i)));
        }

        amo.State.Outage = false;
        amo.State.EnqueueResponse("/api/v4/leads/unsorted/forms", 504, "<html><body>504 Gateway Time-out</body></html>", "text/html");
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(10), () => client.AllDeliveredAsync(ids), "every lead delivered");

        var sizes = amo.State.Requests.Where(r => r.Path == "/api/v4/leads/unsorted/forms" && r.Status != 503)
            .Select(r => JsonNode.Parse(r.Body)!.AsArray().Count).ToList();
        Assert.Equal([8, 4, 4], sizes);
    }

    [Fact]
    public async Task A_note_that_fails_is_retried_after_its_lead_was_delivered()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/leads/notes", 503, "<html><body>503</body></html>", "text/html");

        var response = await ApiAssert.SuccessDataAsync(await client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(1, "").Replace("}}", "},\"comment\":\"Qayta qo'ng'iroq qiling\"}", StringComparison.Ordinal)));
        var id = response["id"]!.GetValue<long>();

        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), async () => (string?)(await client.LeadAsync(id))["note_status"] == "delivered", "the note delivered");

        var note = Assert.Single(amo.State.Notes);
        Assert.Equal("Qayta qo'ng'iroq qiling", note.Text);
        Assert.Equal(2, amo.State.Requests.Count(r => r.Path == "/api/v4/leads/notes" && r.Method == "POST"));
    }

    [Fact]
    public async Task Delivered_leads_are_pruned_after_the_retention_with_their_traces_and_failed_ones_are_kept()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var delivered = await client.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.OK);
        var failed = await client.PostQueuedAsync(OutboxTestKit.Lead(2, ""","custom_fields":[{"field_id":100003,"values":[{"enum_id":999}]}]"""), HttpStatusCode.BadRequest);

        var calls = app.Get<Gateway.Outbox.LeadCallStore>();
        Assert.NotEmpty(await calls.ListAsync(GatewayApp.Domain, delivered, CancellationToken.None));

        clock.Advance(TimeSpan.FromDays(31));
        await Eventually.TrueAsync(async () => (await client.GetAsync($"/api/v1/leads/{delivered}")).StatusCode == HttpStatusCode.NotFound, "the delivered lead pruned");

        Assert.Equal("failed", (string?)(await client.LeadAsync(failed))["status"]);
        Assert.Empty(await calls.ListAsync(GatewayApp.Domain, delivered, CancellationToken.None));
        Assert.NotEmpty(await calls.ListAsync(GatewayApp.Domain, failed, CancellationToken.None));
    }

    [Fact]
    public async Task The_queue_depth_and_the_oldest_age_are_reported_in_diagnostics_and_readiness()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;
        await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        await client.PostQueuedAsync(OutboxTestKit.Lead(2));
        clock.Advance(TimeSpan.FromSeconds(90));

        var status = await ApiAssert.SuccessDataAsync(await client.GetAsync("/api/v1/diagnostics/token-status"));
        var ready = await (await client.GetAsync("/health/ready")).ReadObjectAsync();

        Assert.Equal(2, status["queue"]!["depth"]!.GetValue<long>());
        Assert.Equal(90, status["queue"]!["oldest_queued_age_seconds"]!.GetValue<long>());
        Assert.Equal(2, ready["data"]!["checks"]!["queue"]!["depth"]!.GetValue<long>());
        Assert.Equal(90, ready["data"]!["checks"]!["accounts"]![0]!["oldest_queued_age_seconds"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_stored_lead_survives_a_restart_and_is_delivered_by_the_next_process()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        string dataDir;
        long id;
        await using (var first = new GatewayApp(amo))
        {
            dataDir = first.DataDir;
            await first.AuthorizeAsync();
            amo.State.Outage = true;
            id = await first.CreateKeyedClient().PostQueuedAsync(OutboxTestKit.Lead(1));
        }

        amo.State.Outage = false;
        await using var second = new GatewayApp(amo, dataDir: dataDir);
        using var client = second.CreateKeyedClient();
        await using (var connection = await second.Get<Database>().OpenAsync(CancellationToken.None))
        {
            // The outage left a backoff; a restarted gateway need not wait it out for this test.
            await Sql.ExecuteAsync(connection, "UPDATE leads SET next_attempt_at = 0; DELETE FROM account_delivery;", CancellationToken.None);
        }

        await Eventually.TrueAsync(() => client.AllDeliveredAsync([id]), "delivery by the restarted gateway");
        OutboxTestKit.AssertEachDeliveredOnce(amo, 1);
    }
}
