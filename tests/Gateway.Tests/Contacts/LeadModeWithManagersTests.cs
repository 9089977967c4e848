using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.Contacts;

// Both halves of issue 17 together: lead mode's contact link, the manager it picks and the follow-up task it sets.
public sealed class LeadModeWithManagersTests
{
    [Fact]
    public async Task A_linked_lead_in_lead_mode_goes_to_the_contacts_own_manager_when_sticky_and_its_task_lands_on_the_new_lead_for_that_manager()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        foreach (var user in new long[] { 7001, 7002, 777 })
        {
            amo.State.Team.PutUser(amo.State.MainAccount.Id, user, "Manager " + user, 12, isActive: true);
        }

        var known = amo.State.SeedContact(amo.State.MainAccount, "Aziza", ["+998901112233"], [], responsibleUserId: 777);
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var body = new JsonObject
        {
            ["lead"] = new JsonObject { ["name"] = "Qayta murojaat" },
            ["contact"] = new JsonObject { ["name"] = "Aziza", ["phone"] = "90 111 22 33" },
            ["delivery"] = new JsonObject { ["mode"] = "lead", ["pipeline_id"] = EmulatorSeed.SecondPipelineId, ["status_id"] = EmulatorSeed.SecondNewStatusId, ["contacts"] = "link" },
            ["responsible"] = new JsonObject { ["round_robin"] = new JsonArray(7001, 7002), ["sticky"] = true },
            ["task"] = new JsonObject { ["text"] = "Qo'ng'iroq qiling: {contact.name}, {contact.phone}", ["due_minutes"] = 30 },
        }.ToJsonString();

        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", body);
        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted });
        var id = (await ApiAssert.EnvelopeAsync(response, response.StatusCode))["data"]!["id"]!.GetValue<long>();
        await Eventually.TrueAsync(async () => (string?)(await client.LeadAsync(id))["task"]?["status"] == "delivered", "the task delivered");

        var lead = Assert.Single(amo.State.Leads);
        Assert.Equal(777, lead.Lead["responsible_user_id"]?.GetValue<long>());
        var task = Assert.Single(amo.State.Team.TasksOf());
        Assert.Equal(lead.Id, task.EntityId);
        Assert.Equal(777, task.ResponsibleUserId);
        Assert.Empty(amo.State.Unsorted);
        var status = await client.LeadAsync(id);
        Assert.Equal(known, status["delivery"]!["linked_contact_id"]!.GetValue<long>());
    }
}
