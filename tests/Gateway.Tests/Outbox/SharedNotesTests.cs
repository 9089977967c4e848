using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Outbox;

public sealed class SharedNotesTests
{
    [Fact]
    public async Task The_notes_of_leads_sent_one_by_one_go_together_in_one_notes_call()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["OUTBOX_BATCH_SIZE"] = "3", ["OUTBOX_WORKERS"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await client.PostQueuedAsync(OutboxTestKit.Lead(i).Replace("}}", "},\"comment\":\"Call back\"}", StringComparison.Ordinal)));
        }

        // A 400 that names no item: the three leads then go one at a time, each followed by a lead still due.
        amo.State.Outage = false;
        amo.State.EnqueueResponse("/api/v4/leads/unsorted/forms", 400, """{"title":"Bad Request","status":400,"detail":"Invalid request"}""", "application/problem+json");
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), async () =>
        {
            foreach (var id in ids)
            {
                if ((string?)(await client.LeadAsync(id))["note_status"] != "delivered")
                {
                    return false;
                }
            }

            return true;
        }, "every note delivered");

        var soloSends = amo.State.Requests.Count(r => r.Path == "/api/v4/leads/unsorted/forms" && r.Status == 200);
        var noteCalls = amo.State.Requests.Where(r => r.Path == "/api/v4/leads/notes" && r.Method == "POST").ToList();
        Assert.Equal(3, soloSends);
        var call = Assert.Single(noteCalls);
        Assert.Equal(3, System.Text.Json.Nodes.JsonNode.Parse(call.Body)!.AsArray().Count);
        Assert.Equal(3, amo.State.Notes.Count);
    }
}
