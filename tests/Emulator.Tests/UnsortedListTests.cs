using System.Net;
using System.Text.Json.Nodes;

namespace Emulator.Tests;

// GET /api/v4/leads/unsorted and the notes lists: what a client looks at to learn whether its write happened.
public sealed class UnsortedListTests
{
    private static JsonObject ItemCreatedAt(string requestId, long createdAt)
    {
        var item = Amo.UnsortedItem(requestId);
        item["created_at"] = createdAt;
        return item;
    }

    private static async Task CreateAsync(HttpClient http, params JsonObject[] items)
    {
        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray([.. items])));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task The_unsorted_list_is_newest_first_by_created_at_and_pages_with_next_links_until_the_last()
    {
        await using var amo = await Amo.StartAsync(o => o.MaxPageSize = 2);
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        await CreateAsync(http, ItemCreatedAt("c", 1_700_000_300), ItemCreatedAt("a", 1_700_000_100), ItemCreatedAt("e", 1_700_000_500));
        await CreateAsync(http, ItemCreatedAt("b", 1_700_000_200), ItemCreatedAt("d", 1_700_000_400));

        var seen = new List<string>();
        var next = "/api/v4/leads/unsorted?order[created_at]=desc&limit=250";
        var pages = 0;
        while (next is not null)
        {
            using var response = await http.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await Amo.ReadObjectAsync(response);
            pages++;
            Assert.Equal(pages, (int)body["_page"]!);
            seen.AddRange(body["_embedded"]!["unsorted"]!.AsArray().Select(u => (string)u!["source_uid"]!));
            next = body["_links"]!["next"]?["href"] is { } href ? new Uri((string)href!).PathAndQuery : null;
        }

        Assert.Equal(3, pages);
        Assert.Equal(["gateway-e", "gateway-d", "gateway-c", "gateway-b", "gateway-a"], seen);
    }

    [Fact]
    public async Task An_unsorted_item_is_listed_with_its_uid_source_metadata_and_the_ids_it_created()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        await CreateAsync(http, ItemCreatedAt("x", 1_700_000_000));
        var created = Assert.Single(amo.State.Unsorted);

        using var response = await http.GetAsync("/api/v4/leads/unsorted?order[created_at]=desc");

        var item = (await Amo.ReadObjectAsync(response))["_embedded"]!["unsorted"]![0]!;
        Assert.Equal(created.Uid, (string?)item["uid"]);
        Assert.Equal("gateway-x", (string?)item["source_uid"]);
        Assert.Equal("Website form", (string?)item["source_name"]);
        Assert.Equal("forms", (string?)item["category"]);
        Assert.Equal(EmulatorSeed.MainPipelineId, (long)item["pipeline_id"]!);
        Assert.Equal(1_700_000_000, (long)item["created_at"]!);
        Assert.Equal("contact-form", (string?)item["metadata"]!["form_id"]);
        Assert.Equal(amo.State.MainAccount.Id, (long)item["account_id"]!);
        Assert.Equal(created.LeadId, (long)item["_embedded"]!["leads"]![0]!["id"]!);
        Assert.Equal(created.ContactId, (long)item["_embedded"]!["contacts"]![0]!["id"]!);
        Assert.Empty(item["_embedded"]!["companies"]!.AsArray());
    }

    [Fact]
    public async Task Items_a_manager_accepted_or_declined_leave_the_list_and_an_empty_list_is_204()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        await CreateAsync(http, Amo.UnsortedItem("a"), Amo.UnsortedItem("b"), Amo.UnsortedItem("c"));
        var uids = amo.State.Unsorted.Select(u => u.Uid).ToList();

        using var accept = await http.PostAsync($"/_emulator/unsorted/{uids[0]}/accept", null);
        using var decline = await http.PostAsync($"/_emulator/unsorted/{uids[1]}/decline", null);
        using var again = await http.PostAsync($"/_emulator/unsorted/{uids[1]}/accept", null);
        using var listed = await http.GetAsync("/api/v4/leads/unsorted");
        var remaining = (await Amo.ReadObjectAsync(listed))["_embedded"]!["unsorted"]!.AsArray().Select(u => (string?)u!["uid"]);
        Assert.True(amo.State.DecideUnsorted(uids[2], UnsortedStatus.Accepted));
        using var empty = await http.GetAsync("/api/v4/leads/unsorted");

        Assert.Equal(HttpStatusCode.NoContent, accept.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, decline.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal([uids[2]], remaining);
        Assert.Equal(HttpStatusCode.NoContent, empty.StatusCode);
        Assert.Equal([UnsortedStatus.Accepted, UnsortedStatus.Declined, UnsortedStatus.Accepted], amo.State.Unsorted.Select(u => u.Status));
        Assert.Equal(3, amo.State.Leads.Count);
    }

    [Fact]
    public async Task The_unsorted_list_filters_by_uid_category_and_pipeline()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var second = Amo.UnsortedItem("second");
        second["pipeline_id"] = EmulatorSeed.SecondPipelineId;
        await CreateAsync(http, Amo.UnsortedItem("main"), second, Amo.UnsortedItem("other"));
        var uids = amo.State.Unsorted.Select(u => u.Uid).ToList();

        async Task<IReadOnlyList<string?>> SourcesAsync(string query)
        {
            using var response = await http.GetAsync("/api/v4/leads/unsorted?" + query);
            return response.StatusCode == HttpStatusCode.NoContent
                ? []
                : (await Amo.ReadObjectAsync(response))["_embedded"]!["unsorted"]!.AsArray().Select(u => (string?)u!["source_uid"]).ToList();
        }

        Assert.Equal(["gateway-main"], await SourcesAsync("filter[uid]=" + uids[0]));
        Assert.Equal(["gateway-main", "gateway-other"], await SourcesAsync($"filter[uid][]={uids[0]}&filter[uid][]={uids[2]}"));
        Assert.Equal(["gateway-second"], await SourcesAsync("filter[pipeline_id]=" + EmulatorSeed.SecondPipelineId));
        Assert.Equal(3, (await SourcesAsync("filter[category][]=forms")).Count);
        Assert.Empty(await SourcesAsync("filter[category][]=sip&filter[category][]=chats"));
    }

    [Fact]
    public async Task Another_accounts_token_does_not_see_the_items()
    {
        await using var amo = await Amo.StartAsync();
        var stranger = amo.State.AddAccount("stranger", 31_000_001);
        using var ours = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        using var theirs = Amo.Client(amo, amo.State.IssueTokens(stranger).AccessToken);
        await CreateAsync(ours, Amo.UnsortedItem("mine"));
        var leadId = amo.State.Leads.Single().Id;
        using var note = await ours.PostAsync("/api/v4/leads/notes", Amo.Json(new JsonArray(
            new JsonObject { ["entity_id"] = leadId, ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "hi" } })));

        using var unsorted = await theirs.GetAsync("/api/v4/leads/unsorted");
        using var notes = await theirs.GetAsync("/api/v4/leads/notes?filter[entity_id][]=" + leadId);
        using var leadNotes = await theirs.GetAsync($"/api/v4/leads/{leadId}/notes");

        Assert.Equal(HttpStatusCode.NoContent, unsorted.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, notes.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, leadNotes.StatusCode);
    }

    [Fact]
    public async Task A_leads_notes_are_listed_with_their_text_by_lead_or_by_entity_filter()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        await CreateAsync(http, Amo.UnsortedItem("a"), Amo.UnsortedItem("b"), Amo.UnsortedItem("c"));
        var leads = amo.State.Leads.Select(l => l.Id).ToList();
        using var added = await http.PostAsync("/api/v4/leads/notes", Amo.Json(new JsonArray(
            new JsonObject { ["entity_id"] = leads[0], ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "first" } },
            new JsonObject { ["entity_id"] = leads[1], ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "second" } },
            new JsonObject { ["entity_id"] = leads[1], ["note_type"] = "service_message", ["params"] = new JsonObject { ["text"] = "robot" } })));

        using var byLead = await http.GetAsync($"/api/v4/leads/{leads[1]}/notes?filter[note_type][]=common");
        using var byFilter = await http.GetAsync($"/api/v4/leads/notes?filter[entity_id][]={leads[0]}&filter[entity_id][]={leads[1]}");
        using var none = await http.GetAsync($"/api/v4/leads/{leads[2]}/notes");
        using var unknown = await http.GetAsync("/api/v4/leads/42/notes");

        var one = Assert.Single((await Amo.ReadObjectAsync(byLead))["_embedded"]!["notes"]!.AsArray())!;
        Assert.Equal("second", (string?)one["params"]!["text"]);
        Assert.Equal("common", (string?)one["note_type"]);
        Assert.Equal(leads[1], (long)one["entity_id"]!);
        Assert.Equal(
            ["first", "second", "robot"],
            (await Amo.ReadObjectAsync(byFilter))["_embedded"]!["notes"]!.AsArray().Select(n => (string?)n!["params"]!["text"]));
        Assert.Equal(HttpStatusCode.NoContent, none.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
