using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Outbox;

public sealed class DurableDeliveryTests
{
    [Fact]
    public async Task Leads_accepted_during_an_outage_are_delivered_once_after_recovery()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;

        var ids = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await client.PostQueuedAsync(OutboxTestKit.Lead(i)));
        }

        Assert.Empty(amo.State.Unsorted);
        amo.State.Outage = false;
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(30), () => client.AllDeliveredAsync(ids), "every lead delivered");

        OutboxTestKit.AssertEachDeliveredOnce(amo, 20);
        var first = await client.LeadAsync(ids[0]);
        Assert.Equal(amo.State.Unsorted.Single(u => u.SourceUid == (string?)first["source_uid"]).LeadId, first["lead_id"]!.GetValue<long>());
    }

    [Fact]
    public async Task With_thirty_percent_server_errors_every_lead_is_delivered_exactly_once()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "50", ["OUTBOX_BATCH_SIZE"] = "5" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Seed = 42;
        amo.State.ServerErrorRatio = 0.3;

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i))));
        var ids = new List<long>();
        foreach (var response in responses)
        {
            Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted });
            ids.Add((await response.ReadObjectAsync())["data"]!["id"]!.GetValue<long>());
        }

        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(20), () => client.AllDeliveredAsync(ids), "every lead delivered");

        Assert.Contains(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms" && r.Status >= 500);
        OutboxTestKit.AssertEachDeliveredOnce(amo, 100);
    }

    [Fact]
    public async Task Leads_wait_out_a_revocation_and_go_once_the_account_is_authorized_again()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.RevokeAllTokens();

        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await client.PostQueuedAsync(OutboxTestKit.Lead(i)));
        }

        Assert.Empty(amo.State.Unsorted);
        Assert.Equal(HttpStatusCode.OK, (await GatewayApp.ConsentAsync(client)).StatusCode);

        await Eventually.TrueAsync(() => client.AllDeliveredAsync(ids), "delivery after re-authorization");
        OutboxTestKit.AssertEachDeliveredOnce(amo, 5);
    }

    [Fact]
    public async Task A_storm_of_429s_is_met_with_growing_pauses_not_with_retries_at_once()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        const string html = "<html><head><title>429 Too Many Requests</title></head><body>nginx</body></html>";
        for (var i = 0; i < 6; i++)
        {
            amo.State.EnqueueResponse("/api/v4/leads/unsorted", 429, html, "text/html");
        }

        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        var attemptsAt = new List<DateTimeOffset> { clock.GetUtcNow() };
        int Attempts() => amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted/forms");
        while (Attempts() < 7)
        {
            var before = Attempts();
            // Steps an eighth of the last gap: each gap is measured within 12.5 %, without hundreds of quarter seconds.
            var lastGap = attemptsAt.Count > 1 ? attemptsAt[^1] - attemptsAt[^2] : TimeSpan.Zero;
            var step = TimeSpan.FromMilliseconds(Math.Max(250, lastGap.TotalMilliseconds / 8));
            await clock.AdvanceUntilAsync(step, () => Task.FromResult(Attempts() > before), "the next attempt", maxSteps: 4000);
            attemptsAt.Add(clock.GetUtcNow());
        }

        var gaps = attemptsAt.Zip(attemptsAt.Skip(1), (a, b) => b - a).ToList();
        Assert.True(gaps[5] >= gaps[1] * 4, $"gaps did not grow: {string.Join(", ", gaps)}");
        await Eventually.TrueAsync(() => client.AllDeliveredAsync([id]), "delivery after the storm");
        OutboxTestKit.AssertEachDeliveredOnce(amo, 1);
    }

    [Fact]
    public async Task In_a_batch_only_the_item_amoCRM_rejects_fails_and_the_others_are_delivered()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;
        var good1 = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        var bad = await client.PostQueuedAsync(OutboxTestKit.Lead(2, ""","custom_fields":[{"field_id":100003,"values":[{"enum_id":999}]}]"""));
        var good2 = await client.PostQueuedAsync(OutboxTestKit.Lead(3));
        amo.State.Outage = false;

        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(30), () => client.AllDeliveredAsync([good1, good2]), "the valid leads delivered");

        var failed = await client.LeadAsync(bad);
        Assert.Equal("failed", (string?)failed["status"]);
        Assert.Equal(400, failed["last_error"]!["http_code"]!.GetValue<int>());
        Assert.Equal("NotSupportedChoice", (string?)failed["last_error"]!["validation_errors"]![0]!["errors"]![0]!["code"]);
        OutboxTestKit.AssertEachDeliveredOnce(amo, 2);
        var batches = amo.State.Requests.Where(r => r.Path == "/api/v4/leads/unsorted/forms" && r.Status != 503).Select(r => System.Text.Json.Nodes.JsonNode.Parse(r.Body)!.AsArray().Count).ToList();
        Assert.Equal([3, 2], batches);
    }

    [Fact]
    public async Task A_lead_amoCRM_rejects_on_the_first_attempt_is_answered_with_its_errors_and_kept_as_failed()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(1, ""","custom_fields":[{"field_id":100003,"values":[{"enum_id":999}]}]"""));

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.BadRequest, "Failed to create lead in AmoCRM");
        var id = details!["id"]!.GetValue<long>();
        var listed = await ApiAssert.SuccessDataAsync(await client.GetAsync("/api/v1/leads?status=failed"));
        Assert.Equal(id, Assert.Single(listed["leads"]!.AsArray())!["id"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_failed_lead_can_be_retried_one_by_one_or_all_at_once()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var invalid = OutboxTestKit.Lead(1, ""","custom_fields":[{"field_id":100003,"values":[{"enum_id":999}]}]""");
        var first = await client.PostQueuedAsync(invalid, HttpStatusCode.BadRequest);
        var second = await client.PostQueuedAsync(invalid, HttpStatusCode.BadRequest);

        var retried = await client.PostAsync($"/api/v1/leads/{first}/retry", null);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(first))["status"] == "failed", "the retried lead to fail again");
        Assert.Equal(3, amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted/forms"));
        var delivered = await client.PostQueuedAsync(OutboxTestKit.Lead(2), HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync($"/api/v1/leads/{delivered}/retry", null)).StatusCode);

        var bulk = await ApiAssert.SuccessDataAsync(await client.PostAsync("/api/v1/leads/retry-failed", null));
        Assert.Equal(2, bulk["requeued"]!.GetValue<int>());
        await Eventually.TrueAsync(() => amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted/forms") == 5, "both leads tried again");
        Assert.Equal(2, System.Text.Json.Nodes.JsonNode.Parse(amo.State.Requests.Last(r => r.Path == "/api/v4/leads/unsorted/forms").Body)!.AsArray().Count);
        await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(second))["status"] == "failed", "the bulk-retried lead to fail again");
    }
}
