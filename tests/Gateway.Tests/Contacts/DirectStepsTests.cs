using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.Contacts;

// Lead mode's steps are durable: an outage or a lost answer between them resumes at the next step, and nothing is
// created twice.
public sealed class DirectStepsTests
{
    private static string Lead(string name, string phone) => new JsonObject
    {
        ["lead"] = new JsonObject { ["name"] = name },
        ["contact"] = new JsonObject { ["name"] = "Aziza", ["phone"] = phone },
        ["delivery"] = new JsonObject { ["mode"] = "lead", ["pipeline_id"] = EmulatorSeed.SecondPipelineId, ["contacts"] = "link" },
    }.ToJsonString();

    private static int Creates(AmoEmulator amo) => amo.State.Requests.Count(r => r.Path == "/api/v4/leads/complex" && r.Method == "POST");

    [Fact]
    public async Task An_outage_between_the_search_and_the_create_resumes_at_the_create_without_searching_again()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var known = amo.State.SeedContact(amo.State.MainAccount, "Known", ["+998 90 111 22 33", "+998901112233"], []);
        amo.State.EnqueueResponse("/api/v4/leads/complex", 500, """{"title":"Internal Server Error","status":500}""", "application/problem+json");

        var id = await client.PostQueuedAsync(Lead("After outage", "90 111 22 33"));
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), () => client.AllDeliveredAsync([id]), "the lead delivered after the outage");

        var lead = await client.LeadAsync(id);
        Assert.Equal(1, amo.State.ContactSearches);
        Assert.Equal(2, Creates(amo));
        Assert.Single(amo.State.Leads);
        Assert.Equal(1, amo.State.ContactCount());
        Assert.Equal(known, (long)lead["contact_id"]!);
        var steps = lead["delivery"]!["steps"]!.AsArray().Select(s => (string?)s!["step"]).ToList();
        Assert.Equal(["contact", "link"], steps.Where(s => s != "note"));
    }

    [Fact]
    public async Task A_create_whose_answer_was_lost_is_found_in_amoCRM_and_not_sent_again()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.LostAnswerMode = "502";
        amo.State.LostAnswerRatio = 1;

        var id = await client.PostQueuedAsync(Lead("Lost answer", "+998901112233"));
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), () => Task.FromResult(amo.State.LostAnswers >= 1), "the create's answer lost");
        amo.State.LostAnswerRatio = 0;
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(5), () => client.AllDeliveredAsync([id]), "the lead settled");

        var created = Assert.Single(amo.State.Leads);
        Assert.Equal(1, Creates(amo));
        Assert.Equal(1, amo.State.ContactCount());
        var lead = await client.LeadAsync(id);
        Assert.Equal(created.Id, (long)lead["lead_id"]!);
        Assert.Contains(lead["delivery"]!["steps"]!.AsArray(), s => (string?)s!["outcome"] == "found_after_lost_answer");

        // The contact the lost create made is known now: the customer's next lead is linked to it without a search.
        var searches = amo.State.ContactSearches;
        var next = await client.PostJsonAsync("/api/v1/leads/unsorted", Lead("Second", "+998901112233"));
        var envelope = await ApiAssert.EnvelopeAsync(next, HttpStatusCode.OK);
        Assert.Equal((long)lead["contact_id"]!, (long)(await client.LeadAsync(envelope["data"]!["id"]!.GetValue<long>()))["contact_id"]!);
        Assert.Equal(searches, amo.State.ContactSearches);
        Assert.Equal(1, amo.State.ContactCount());
    }

    [Fact]
    public async Task A_lead_whose_claim_ran_out_before_its_create_is_created_not_taken_for_a_same_named_lead_of_its_contact()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var first = await client.PostQueuedAsync(Lead("Divan", "+998901112233"), HttpStatusCode.OK);

        // The customer's second lead, of the same name: its claimant dies before it sends anything (a crash while the
        // contact step ran, or a wait for a token longer than the lease).
        await ApiAssert.SuccessDataAsync(await client.PostAsync($"/api/v1/admin/accounts/{GatewayApp.Domain}/pause", null));
        var second = await client.PostQueuedAsync(Lead("Divan", "+998901112233"));
        Assert.Equal(second, Assert.Single(await app.Get<Gateway.Outbox.LeadStore>().ClaimAsync(GatewayApp.Domain, 50, TimeSpan.FromMinutes(2), CancellationToken.None)).Id);
        await ApiAssert.SuccessDataAsync(await client.PostAsync($"/api/v1/admin/accounts/{GatewayApp.Domain}/resume", null));

        // Its next claimant creates it: lead mode looks only for creates that went out (it matches by name, so a look
        // here would take the first lead for this one and the second would never reach amoCRM).
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(15), () => client.AllDeliveredAsync([second]), "the second lead delivered after the lease");
        Assert.Equal(2, amo.State.Leads.Count);
        Assert.Equal(2, Creates(amo));
        var lead = await client.LeadAsync(second);
        Assert.NotEqual((long)(await client.LeadAsync(first))["lead_id"]!, (long)lead["lead_id"]!);
        Assert.DoesNotContain(lead["delivery"]!["steps"]!.AsArray(), s => (string?)s!["outcome"] == "found_after_lost_answer");
    }
}
