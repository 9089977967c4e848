using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Gateway.Tests.Security;

namespace Gateway.Tests.Contacts;

// Issue 17's durable steps against a real crash: amoCRM carries out one step's write and its answer never comes, the
// gateway is killed (-9) while it waits for it, and a new process on the same database finishes the lead without a
// second lead, contact or task.
[Trait("Kind", "Process")]
public sealed class DirectStepsCrashTests
{
    private const string ShopKey = "shop-key-0123456789abcdef";
    private const string Complex = "/api/v4/leads/complex";
    private const string Tasks = "/api/v4/tasks";
    private const string Notes = "/api/v4/leads/notes";
    private const long Manager = 7001;

    [Fact]
    public async Task A_kill_9_during_the_lead_create_leaves_one_lead_linked_to_the_known_contact_and_one_task_after_the_restart()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var known = amo.State.SeedContact(amo.State.MainAccount, "Aziza", ["+998901112233"], []);

        var (lead, view) = await CrashAsync(amo, Complex);

        Assert.Equal(1, amo.State.ContactCount());
        Assert.Equal(known, (long?)view["contact_id"]);
        Assert.Equal(known, (long?)view["delivery"]!["linked_contact_id"]);
        Assert.Equal([lead.Id], amo.State.FindContact(known, amo.State.MainAccount, withLeads: true)!["_embedded"]!["leads"]!.AsArray().Select(l => (long)l!["id"]!));
        var contact = Step(view, "contact");
        Assert.Equal("found", (string?)contact["outcome"]);
        Assert.Equal(known, (long?)contact["contact_id"]);
        var linked = Step(view, "link");
        Assert.Equal("found_after_lost_answer", (string?)linked["outcome"]);
        Assert.Equal(lead.Id, (long?)linked["lead_id"]);
        Assert.Equal(known, (long?)linked["contact_id"]);
    }

    [Fact]
    public async Task A_kill_9_during_the_lead_create_of_a_new_customer_leaves_one_lead_one_new_contact_and_one_task_after_the_restart()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());

        var (lead, view) = await CrashAsync(amo, Complex);

        Assert.Equal(1, amo.State.ContactCount());
        Assert.Null((long?)view["delivery"]!["linked_contact_id"]);
        Assert.Equal("not_found", (string?)Step(view, "contact")["outcome"]);
        var created = Step(view, "create");
        Assert.Equal("found_after_lost_answer", (string?)created["outcome"]);
        Assert.Equal(lead.Id, (long?)created["lead_id"]);
        Assert.NotNull((long?)created["contact_id"]);
        Assert.Equal((long?)created["contact_id"], (long?)view["contact_id"]);
    }

    [Fact]
    public async Task A_kill_9_during_the_task_create_leaves_one_task_on_the_one_lead_after_the_restart()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());

        var (lead, view) = await CrashAsync(amo, Tasks);

        Assert.Equal(1, amo.State.ContactCount());
        Assert.Equal(1, Posts(amo, Complex));
        Assert.Equal(lead.Id, (long?)Step(view, "create")["lead_id"]);
        Assert.Null((string?)Step(view, "create")["outcome"]);
        Assert.Equal(2, (long?)view["task"]!["attempts"]);
    }

    [Fact]
    public async Task A_kill_9_during_the_note_create_leaves_one_note_on_the_one_lead_after_the_restart()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());

        var (lead, view) = await CrashAsync(amo, Notes);

        Assert.Equal(1, amo.State.ContactCount());
        Assert.Equal(lead.Id, (long?)Step(view, "create")["lead_id"]);
        Assert.Contains("Qizil divan", Assert.Single(amo.State.Notes).Text, StringComparison.Ordinal);
    }

    // Posts one lead with the shop key (lead mode, link, a manager, a task from the key's defaults), holds the answer of
    // the first write to `killedDuring`, kills the gateway the moment amoCRM has carried that write out, and starts a new
    // process on the same database. Checks what every kill point owes: one lead, one task, one note, each write sent
    // once (the one whose answer was held never again), and the lead's steps; returns the lead and its GET /api/v1/leads/{id}.
    private static async Task<(LeadRecord Lead, JsonObject View)> CrashAsync(AmoEmulator amo, string killedDuring)
    {
        amo.State.Team.PutUser(amo.State.MainAccount.Id, Manager, "Manager " + Manager, 12, isActive: true);
        amo.State.Team.PutUser(amo.State.MainAccount.Id, Manager + 1, "Manager " + (Manager + 1), 12, isActive: true);
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?>
        {
            ["AMO_TIMEOUT_SECONDS"] = "3",
            ["OUTBOX_LEASE_SECONDS"] = "5",
            ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0",
            // The test polls the lead's status while the restarted gateway waits out the dead one's lease.
            ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0",
        });
        environment["API_KEYS_FILE"] = SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("shop", ShopKey,
            $$"""
            "delivery":{"mode":"lead","pipeline_id":{{EmulatorSeed.SecondPipelineId}},"status_id":{{EmulatorSeed.SecondNewStatusId}},"contacts":"link"},
            "responsible":{"round_robin":[{{Manager}},{{Manager + 1}}]},
            "task":{"text":"Qo'ng'iroq qiling: {contact.name}, {contact.phone}","due_minutes":30}
            """));
        var held = amo.State.HoldNextAnswer(killedDuring);

        long id;
        await using (var doomed = await GatewayProcess.StartAsync(environment, dir))
        {
            using var shop = Client(doomed);
            var response = await shop.PostJsonAsync("/api/v1/leads/unsorted", """{"lead":{"name":"Divan"},"contact":{"name":"Aziza","phone":"90 111 22 33"},"comment":"Qizil divan, uch o'rinli"}""");
            id = (await ApiAssert.EnvelopeAsync(response, HttpStatusCode.Accepted))["data"]!["id"]!.GetValue<long>();

            // amoCRM has done the write and holds its answer: the gateway dies waiting for it.
            await held.WaitAsync(TimeSpan.FromSeconds(60));
            doomed.Kill();
        }

        await using var restarted = await GatewayProcess.StartAsync(environment, dir);
        using var after = Client(restarted);
        JsonObject? last = null;
        try
        {
            await Eventually.TrueAsync(
                async () => (last = await after.LeadAsync(id)) is var lead && (string?)lead["task"]?["status"] == "delivered" && (string?)lead["note_status"] == "delivered",
                "the lead, its task and its note delivered after the restart",
                TimeSpan.FromSeconds(60));
        }
        catch (Xunit.Sdk.XunitException timedOut)
        {
            Assert.Fail($"{timedOut.Message}; the lead was {last?.ToJsonString()}");
        }

        var view = await after.LeadAsync(id);
        var created = Assert.Single(amo.State.Leads);
        Assert.Equal("delivered", (string?)view["status"]);
        Assert.Equal(created.Id, (long?)view["lead_id"]);
        Assert.Equal(created.Id, (long?)view["delivery"]!["target_lead_id"]);
        Assert.Equal(Manager, created.Lead["responsible_user_id"]?.GetValue<long>());
        Assert.Equal(1, Posts(amo, Complex));

        var task = Assert.Single(amo.State.Team.TasksOf());
        Assert.Equal(created.Id, task.EntityId);
        Assert.Equal(Manager, task.ResponsibleUserId);
        Assert.Equal("Qo'ng'iroq qiling: Aziza, +998901112233", task.Text);
        Assert.Equal(task.Id, (long?)view["task"]!["task_id"]);
        Assert.Equal(1, Posts(amo, Tasks));
        Assert.Equal(1, Posts(amo, Notes));

        var note = Assert.Single(amo.State.Notes);
        Assert.Equal(created.Id, note.EntityId);
        Assert.Equal(note.Id, (long?)view["note_id"]);
        // The contact step, then the create (a new contact) or the link (a known one), then the note.
        Assert.Equal(["contact", "create", "note"], view["delivery"]!["steps"]!.AsArray().Select(s => (string?)s!["step"] == "link" ? "create" : (string?)s!["step"]));
        return (created, view);
    }

    private static JsonObject Step(JsonObject view, string name) =>
        Assert.Single(view["delivery"]!["steps"]!.AsArray(), s => (string?)s!["step"] == name)!.AsObject();

    private static int Posts(AmoEmulator amo, string path) => amo.State.Requests.Count(r => r.Method == "POST" && r.Path == path);

    private static HttpClient Client(GatewayProcess gateway)
    {
        var client = new HttpClient { BaseAddress = gateway.BaseUrl };
        client.DefaultRequestHeaders.Add("X-API-KEY", ShopKey);
        return client;
    }
}
