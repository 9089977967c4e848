using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Gateway.Tests.Security;

namespace Gateway.Tests.Contacts;

// Issue 17: the responsible manager (fixed, round-robin over a list or a group, rules) and the follow-up task.
public sealed class ManagersAndTasksTests
{
    private static string Lead(int i, string settings, string extra = "") =>
        $$$"""{"lead":{"name":"Lead {{{i}}}"},"contact":{"name":"Aziza {{{i}}}","phone":"+99890{{{i:D7}}}"}{{{extra}}},{{{settings}}}}""";

    private static void SeedManagers(AmoEmulator amo, params long[] ids)
    {
        foreach (var id in ids)
        {
            amo.State.Team.PutUser(amo.State.MainAccount.Id, id, "Manager " + id, 12, isActive: true);
        }
    }

    // Posted and, one after another, delivered (a lead may be answered 202 when its batch had to wait for a call).
    private static async Task<long> PostDeliveredAsync(HttpClient client, string body)
    {
        var id = await PostAsync(client, body);
        await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(id))["status"] == "delivered", "lead " + id + " delivered");
        return id;
    }

    private static async Task<long> PostAsync(HttpClient client, string body)
    {
        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", body);
        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted });
        return (await ApiAssert.EnvelopeAsync(response, response.StatusCode))["data"]!["id"]!.GetValue<long>();
    }

    private static long? ResponsibleOf(UnsortedRecord item) =>
        item.Item["_embedded"]?["leads"]?[0]?["responsible_user_id"]?.GetValue<long>();

    [Fact]
    public async Task Round_robin_over_three_users_across_two_instances_splits_thirty_leads_ten_ten_ten()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        SeedManagers(amo, 7001, 7002, 7003);
        var dataDir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        var settings = new Dictionary<string, string?> { ["OUTBOX_BATCH_SIZE"] = "4", ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" };
        await using var first = new GatewayApp(amo, dataDir: dataDir, settings: settings);
        await using var second = new GatewayApp(amo, dataDir: dataDir, settings: settings);
        await first.AuthorizeAsync();
        using var a = first.CreateKeyedClient();
        using var b = second.CreateKeyedClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            (i % 2 == 0 ? a : b).PostJsonAsync("/api/v1/leads/unsorted", Lead(i, "\"responsible\":{\"round_robin\":[7001,7002,7003]}"))));

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted }));
        await Eventually.TrueAsync(() => amo.State.Unsorted.Count == 30, "all 30 leads delivered", TimeSpan.FromSeconds(60));
        OutboxTestKit.AssertEachDeliveredOnce(amo, 30);
        var split = amo.State.Unsorted.GroupBy(ResponsibleOf).ToDictionary(g => g.Key ?? 0, g => g.Count());
        Assert.Equal(new Dictionary<long, int> { [7001] = 10, [7002] = 10, [7003] = 10 }, split);
    }

    [Fact]
    public async Task A_deactivated_user_is_skipped_by_the_round_robin_over_a_group()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        SeedManagers(amo, 7001, 7002, 7003);
        amo.State.Team.SetActive(amo.State.MainAccount.Id, 7002, false);
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["OUTBOX_BATCH_SIZE"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await PostDeliveredAsync(client, Lead(i, "\"responsible\":{\"group_id\":12}")));
        }

        Assert.Equal([7001L, 7003L, 7001L, 7003L], amo.State.Unsorted.Select(u => ResponsibleOf(u) ?? 0));
        var status = await client.LeadAsync(ids[0]);
        Assert.Equal(7001, status["responsible"]!["user_id"]!.GetValue<long>());
        Assert.Equal("group_id 12", (string?)status["responsible"]!["reason"]);
    }

    [Fact]
    public async Task A_lead_refused_for_a_user_deactivated_since_the_users_were_cached_is_picked_for_again_when_retried()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        SeedManagers(amo, 7001);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        const string Settings = "\"responsible\":{\"round_robin\":[7001,7002]}";
        await PostDeliveredAsync(client, Lead(1, Settings));

        // 7001 leaves and 7002 joins in amoCRM; the cached list still says otherwise, so amoCRM refuses the next lead.
        amo.State.Team.SetActive(amo.State.MainAccount.Id, 7001, false);
        SeedManagers(amo, 7002);
        var answer = await client.PostJsonAsync("/api/v1/leads/unsorted", Lead(2, Settings));
        var refused = (await ApiAssert.EnvelopeAsync(answer, HttpStatusCode.BadRequest))["details"]!["id"]!.GetValue<long>();
        Assert.Equal("failed", (string?)(await client.LeadAsync(refused))["status"]);
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/leads/{refused}/retry", null)).StatusCode);
        await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(refused))["status"] == "delivered", "the retried lead delivered");

        Assert.Equal([7001L, 7002L], amo.State.Unsorted.Select(u => ResponsibleOf(u) ?? 0));
    }

    [Fact]
    public async Task With_no_active_user_the_lead_goes_without_a_responsible_user_and_its_status_says_amoCRM_picks()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        amo.State.Team.PutUser(amo.State.MainAccount.Id, 7002, "Bekzod", 12, isActive: false);
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var id = await PostDeliveredAsync(client, Lead(1, "\"responsible\":{\"user_id\":7002}"));

        Assert.Null(ResponsibleOf(Assert.Single(amo.State.Unsorted)));
        var status = await client.LeadAsync(id);
        Assert.Equal("delivered", (string?)status["status"]);
        Assert.Null(status["responsible"]!["user_id"]);
        Assert.Contains("amoCRM picks", (string?)status["responsible"]!["reason"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rule_by_utm_source_gives_the_lead_to_its_manager_and_the_others_go_to_the_default()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        SeedManagers(amo, 7001, 7002);
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["OUTBOX_BATCH_SIZE"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        const string Settings = "\"responsible\":{\"user_id\":7001,\"rules\":[{\"when\":{\"utm\":{\"utm_source\":\"instagram\"}},\"user_id\":7002}]}";

        await PostDeliveredAsync(client, Lead(1, Settings, ",\"utm\":{\"utm_source\":\"Instagram\"}"));
        await PostDeliveredAsync(client, Lead(2, Settings, ",\"utm\":{\"utm_source\":\"google\"}"));

        Assert.Equal([7002L, 7001L], amo.State.Unsorted.Select(u => ResponsibleOf(u) ?? 0));
    }

    [Fact]
    public async Task A_resend_after_a_lost_answer_goes_to_the_same_manager_and_takes_no_second_round_robin_turn()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        SeedManagers(amo, 7001, 7002);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        const string Settings = "\"responsible\":{\"round_robin\":[7001,7002]}";
        amo.State.LostAnswerMode = LostAnswer.Reset;
        amo.State.LostAnswerRatio = 1;

        // The first send's answer is lost and a manager declines the item meanwhile: the look does not find it, so it goes again.
        var first = await PostAsync(client, Lead(1, Settings));
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), () => Task.FromResult(amo.State.LostAnswers == 1), "the first answer lost");
        amo.State.LostAnswerRatio = 0;
        Assert.True(amo.State.DecideUnsorted(Assert.Single(amo.State.Unsorted).Uid, UnsortedStatus.Declined));
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), async () => (string?)(await client.LeadAsync(first))["status"] == "delivered", "the first lead sent again");
        var second = await PostAsync(client, Lead(2, Settings));
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), async () => (string?)(await client.LeadAsync(second))["status"] == "delivered", "the second lead delivered");

        Assert.Equal([7001L, 7001L, 7002L], amo.State.Unsorted.Select(u => ResponsibleOf(u) ?? 0));
    }

    [Fact]
    public async Task A_lead_at_17_50_on_friday_gets_a_task_due_in_30_working_minutes_on_monday_at_09_20_in_the_account_time_zone()
    {
        // Friday 4 December 2026, 17:50 in Moscow (the emulator account's zone, UTC+3).
        var clock = new TestTimeProvider(new DateTimeOffset(2026, 12, 4, 14, 50, 0, TimeSpan.Zero));
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        SeedManagers(amo, 7001);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        const string Settings = """
            "responsible":{"user_id":7001},
            "task":{"text":"Qo'ng'iroq qiling: {contact.name}, {contact.phone}","due_minutes":30,"working_hours":{"days":[1,2,3,4,5],"from":"09:00","to":"18:00"}}
            """;

        var id = await PostAsync(client, Lead(1, Settings));
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), async () => (string?)(await client.LeadAsync(id))["task"]?["status"] == "delivered", "the task delivered");

        var task = Assert.Single(amo.State.Team.TasksOf());
        var lead = Assert.Single(amo.State.Unsorted);
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 9, 20, 0, TimeSpan.FromHours(3)).ToUnixTimeSeconds(), task.CompleteTill);
        Assert.Equal("Qo'ng'iroq qiling: Aziza 1, +998900000001", task.Text);
        Assert.Equal(lead.LeadId, task.EntityId);
        Assert.Equal(7001, task.ResponsibleUserId);
        var status = await client.LeadAsync(id);
        Assert.Equal(task.Id, status["task"]!["task_id"]!.GetValue<long>());
        Assert.Equal(task.CompleteTill, status["task"]!["complete_till"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_crash_after_a_task_went_out_and_before_its_answer_came_leaves_exactly_one_task()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var dataDir = Directory.CreateTempSubdirectory("gateway-task-crash-").FullName;
        long id;
        await using (var crashed = new GatewayApp(amo, clock, dataDir))
        {
            await crashed.AuthorizeAsync();
            using var client = crashed.CreateKeyedClient();
            amo.State.LostAnswerMode = LostAnswer.Reset;
            amo.State.LostAnswerRatio = 1;
            // The lead's answer is lost (the look finds it), then the task's: the task exists, the gateway does not know.
            id = await client.PostQueuedAsync(Lead(1, "\"task\":{\"text\":\"Qo'ng'iroq qiling: {contact.name}\",\"due_minutes\":60}"));
            await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), () => Task.FromResult(amo.State.Team.TasksOf().Count == 1 && amo.State.LostAnswers == 2), "the task created and its answer lost");
            await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(id))["task"]?["status"] == "pending", "the task back in the queue, unconfirmed");
        }

        amo.State.LostAnswerRatio = 0;
        await using var restarted = new GatewayApp(amo, clock, dataDir);
        using var again = restarted.CreateKeyedClient();
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), async () => (string?)(await again.LeadAsync(id))["task"]?["status"] == "delivered", "the task settled after the restart");

        var task = Assert.Single(amo.State.Team.TasksOf());
        Assert.Equal(task.Id, (await again.LeadAsync(id))["task"]!["task_id"]!.GetValue<long>());
        Assert.Single(amo.State.Requests, r => r.Path == "/api/v4/tasks" && r.Method == "POST");
        Assert.Contains(amo.State.Requests, r => r.Path == "/api/v4/tasks" && r.Method == "GET");
        Assert.Single(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_task_amoCRM_refuses_fails_alone_and_its_lead_stays_delivered()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/tasks", 400, """{"title":"Bad Request","status":400,"detail":"Request validation failed","validation-errors":[]}""", "application/problem+json");

        var id = await PostDeliveredAsync(client, Lead(1, "\"task\":{\"text\":\"Call {contact.name}\"}"));
        await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(id))["task"]?["status"] == "failed", "the task refused");

        var status = await client.LeadAsync(id);
        Assert.Equal("delivered", (string?)status["status"]);
        Assert.Empty(amo.State.Team.TasksOf());
    }

    [Fact]
    public async Task A_key_s_responsible_and_task_defaults_fill_what_the_request_left_out_and_the_request_s_own_win()
    {
        const string SiteKey = "site-key-aaaaaaaaaaaaaaaa";
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        SeedManagers(amo, 7001, 7002);
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("landing", SiteKey, "\"responsible\":{\"user_id\":7001},\"task\":{\"text\":\"Call {contact.name}\",\"due_minutes\":15}"));
        await using var app = new GatewayApp(amo, dataDir: dir);
        await app.AuthorizeAsync();
        using var client = app.Client(SiteKey);

        await PostDeliveredAsync(client, Lead(1, "\"source\":\"site\""));
        var own = await PostDeliveredAsync(client, Lead(2, "\"responsible\":{\"user_id\":7002}"));
        await Eventually.TrueAsync(() => amo.State.Team.TasksOf().Count == 2, "both tasks created");

        Assert.Equal([7001L, 7002L], amo.State.Unsorted.Select(u => ResponsibleOf(u) ?? 0));
        Assert.Equal(["Call Aziza 1", "Call Aziza 2"], amo.State.Team.TasksOf().Select(t => t.Text));
        Assert.Equal([7001L, 7002L], amo.State.Team.TasksOf().Select(t => t.ResponsibleUserId));
        Assert.Equal("user_id", (string?)(await client.LeadAsync(own))["responsible"]!["reason"]);
    }

    [Fact]
    public async Task A_bad_responsible_default_in_the_keys_file_stops_start_up_naming_it()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("landing", "site-key-aaaaaaaaaaaaaaaa", "\"responsible\":{\"round_robin\":\"7001\"}"));
        await using var app = new GatewayApp(amo, dataDir: dir);

        var message = Gateway.Hosting.StartupFailure.Describe(Assert.ThrowsAny<Exception>(() => app.CreateClient()));

        Assert.NotNull(message);
        Assert.Contains("keys[0].responsible.round_robin", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"responsible\":{\"round_robin\":[]}", "responsible.round_robin")]
    [InlineData("\"responsible\":{\"user_id\":1,\"group_id\":2}", "responsible")]
    [InlineData("\"responsible\":{\"rules\":[{\"when\":{\"colour\":\"red\"},\"user_id\":1}]}", "responsible.rules.0.when.colour")]
    [InlineData("\"task\":{\"text\":\"Call {contact.nickname}\"}", "task.text")]
    [InlineData("\"task\":{\"text\":\"x\",\"working_hours\":{\"days\":[1],\"from\":\"18:00\",\"to\":\"09:00\"}}", "task.working_hours.to")]
    [InlineData("\"task\":{\"text\":\"x\",\"due_minutes\":0}", "task.due_minutes")]
    public async Task A_bad_responsible_or_task_setting_is_a_422_naming_it(string settings, string detail)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", Lead(1, settings));

        var envelope = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.NotNull(envelope["details"]![detail]);
        Assert.Empty(amo.State.Unsorted);
    }
}
