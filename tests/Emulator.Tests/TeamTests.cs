using System.Net;
using System.Text.Json.Nodes;

namespace Emulator.Tests;

public sealed class TeamTests
{
    [Fact]
    public async Task Users_list_pages_with_is_active_and_group_and_the_account_lists_the_groups()
    {
        await using var amo = await Amo.StartAsync(o => o.MaxPageSize = 2);
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        using var control = Amo.Client(amo);
        (await control.PostAsync("/_emulator/groups", Amo.Json(new JsonObject { ["id"] = 12, ["name"] = "Toshkent" }))).EnsureSuccessStatusCode();
        (await control.PostAsync("/_emulator/users", Amo.Json(new JsonObject { ["id"] = 7001, ["name"] = "Aziza", ["group_id"] = 12 }))).EnsureSuccessStatusCode();
        (await control.PostAsync("/_emulator/users", Amo.Json(new JsonObject { ["id"] = 7002, ["name"] = "Bekzod", ["group_id"] = 12, ["is_active"] = false }))).EnsureSuccessStatusCode();

        using var first = await http.GetAsync("/api/v4/users?with=group,role");
        var page = await Amo.ReadObjectAsync(first);
        Assert.NotNull(page["_links"]!["next"]);
        using var second = await http.GetAsync((string)page["_links"]!["next"]!["href"]!);
        var users = page["_embedded"]!["users"]!.AsArray().Concat((await Amo.ReadObjectAsync(second))["_embedded"]!["users"]!.AsArray()).ToList();

        Assert.Equal([7001, 7002, TeamState.AdminUserId], users.Select(u => (long)u!["id"]!));
        Assert.Equal([true, false, true], users.Select(u => (bool)u!["rights"]!["is_active"]!));
        Assert.Equal(12, (long)users[0]!["rights"]!["group_id"]!);
        Assert.NotNull(users[0]!["_embedded"]!["groups"]);
        var account = await Amo.ReadObjectAsync(await http.GetAsync("/api/v4/account?with=users_groups,datetime_settings"));
        Assert.Contains(12L, account["_embedded"]!["users_groups"]!.AsArray().Select(g => (long)g!["id"]!));
        Assert.Equal("Europe/Moscow", (string?)account["_embedded"]!["datetime_settings"]!["timezone"]);
    }

    [Fact]
    public async Task A_task_is_created_on_an_existing_lead_and_listed_by_entity_id()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var leadId = await CreateLeadAsync(http);
        var till = amo.State.Now.ToUnixTimeSeconds() + 1800;

        using var created = await http.PostAsync("/api/v4/tasks", Amo.Json(new JsonArray(new JsonObject
        {
            ["text"] = "Qo'ng'iroq qiling", ["complete_till"] = till, ["entity_id"] = leadId, ["entity_type"] = "leads",
            ["responsible_user_id"] = TeamState.AdminUserId, ["task_type_id"] = 1, ["request_id"] = "17",
        })));

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var answer = (await Amo.ReadObjectAsync(created))["_embedded"]!["tasks"]![0]!;
        Assert.Equal("17", (string?)answer["request_id"]);
        var listed = await Amo.ReadObjectAsync(await http.GetAsync($"/api/v4/tasks?filter[entity_id][]={leadId}"));
        var task = listed["_embedded"]!["tasks"]![0]!;
        Assert.Equal((long)answer["id"]!, (long)task["id"]!);
        Assert.Equal(till, (long)task["complete_till"]!);
        Assert.Equal("Qo'ng'iroq qiling", (string?)task["text"]);
    }

    [Fact]
    public async Task A_task_due_in_the_past_or_for_an_inactive_user_is_a_validation_error_and_nothing_is_created()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        amo.State.Team.PutUser(amo.Options.AccountId, 7002, "Bekzod", 0, isActive: false);
        var leadId = await CreateLeadAsync(http);
        var now = amo.State.Now.ToUnixTimeSeconds();

        using var past = await http.PostAsync("/api/v4/tasks", Amo.Json(new JsonArray(new JsonObject { ["text"] = "x", ["complete_till"] = now - 60, ["entity_id"] = leadId, ["entity_type"] = "leads" })));
        using var inactive = await http.PostAsync("/api/v4/tasks", Amo.Json(new JsonArray(new JsonObject { ["text"] = "x", ["complete_till"] = now + 60, ["entity_id"] = leadId, ["entity_type"] = "leads", ["responsible_user_id"] = 7002 })));

        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.Contains("complete_till", await past.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, inactive.StatusCode);
        Assert.Contains("responsible_user_id", await inactive.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(amo.State.Team.TasksOf());
    }

    [Fact]
    public async Task More_than_fifty_tasks_in_one_request_are_refused()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var leadId = await CreateLeadAsync(http);
        var till = amo.State.Now.ToUnixTimeSeconds() + 600;

        using var response = await http.PostAsync("/api/v4/tasks", Amo.Json(new JsonArray([.. Enumerable.Range(0, 51).Select(_ => (JsonNode)new JsonObject { ["text"] = "x", ["complete_till"] = till, ["entity_id"] = leadId })])));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task An_unsorted_lead_takes_an_active_responsible_user_and_refuses_an_inactive_one()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        amo.State.Team.PutUser(amo.Options.AccountId, 7001, "Aziza", 0, isActive: true);
        amo.State.Team.PutUser(amo.Options.AccountId, 7002, "Bekzod", 0, isActive: false);

        var leadId = await CreateLeadAsync(http, 7001);
        var refused = Amo.UnsortedItem("r2");
        refused["_embedded"]!["leads"]![0]!["responsible_user_id"] = 7002;
        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(refused)));

        Assert.Equal(7001, (long)(await Amo.ReadObjectAsync(await http.GetAsync($"/api/v4/leads/{leadId}")))["responsible_user_id"]!);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("responsible_user_id", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<long> CreateLeadAsync(HttpClient http, long? responsible = null)
    {
        var item = Amo.UnsortedItem("r1");
        if (responsible is { } user)
        {
            item["_embedded"]!["leads"]![0]!["responsible_user_id"] = user;
        }

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(item)));
        response.EnsureSuccessStatusCode();
        return (long)(await Amo.ReadObjectAsync(response))["_embedded"]!["unsorted"]![0]!["_embedded"]!["leads"]![0]!["id"]!;
    }
}
