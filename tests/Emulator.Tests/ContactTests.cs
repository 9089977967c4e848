using System.Net;
using System.Text.Json.Nodes;
using Emulator;

namespace Emulator.Tests;

public sealed class ContactTests
{
    private static JsonObject Phone(string value) => new()
    {
        ["field_code"] = "PHONE",
        ["values"] = new JsonArray(new JsonObject { ["value"] = value, ["enum_code"] = "WORK" }),
    };

    private static JsonObject ComplexLead(string requestId, JsonObject contact) => new()
    {
        ["request_id"] = requestId,
        ["name"] = "Lead " + requestId,
        ["pipeline_id"] = EmulatorSeed.SecondPipelineId,
        ["status_id"] = EmulatorSeed.SecondNewStatusId,
        ["_embedded"] = new JsonObject { ["contacts"] = new JsonArray(contact) },
    };

    [Fact]
    public async Task Query_matches_a_substring_of_the_stored_text_and_not_digits_typed_with_spaces()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var plain = amo.State.SeedContact(amo.State.MainAccount, "Plain", ["+998901112233"], []);
        amo.State.SeedContact(amo.State.MainAccount, "Spaced", ["+998 90 111 22 44"], ["Spaced@Example.com"]);

        using var byDigits = await http.GetAsync("/api/v4/contacts?query=901112233");
        using var spacedByDigits = await http.GetAsync("/api/v4/contacts?query=901112244");
        using var byEmail = await http.GetAsync("/api/v4/contacts?query=spaced@example.com");

        var found = (await Amo.ReadObjectAsync(byDigits))["_embedded"]!["contacts"]!.AsArray();
        Assert.Equal(plain, (long)found.Single()!["id"]!);
        Assert.Equal(HttpStatusCode.NoContent, spacedByDigits.StatusCode);
        Assert.Equal("", await spacedByDigits.Content.ReadAsStringAsync());
        Assert.Equal("Spaced", (string?)(await Amo.ReadObjectAsync(byEmail))["_embedded"]!["contacts"]![0]!["name"]);
        Assert.Equal(3, amo.State.ContactSearches);
    }

    [Fact]
    public async Task Complex_lead_links_a_contact_by_id_and_the_contact_lists_its_leads()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var contactId = amo.State.SeedContact(amo.State.MainAccount, "Known", ["+998901112233"], []);

        using var created = await http.PostAsync("/api/v4/leads/complex", Amo.Json(new JsonArray(
            ComplexLead("a", new JsonObject { ["id"] = contactId }),
            ComplexLead("b", new JsonObject { ["name"] = "New one", ["custom_fields_values"] = new JsonArray(Phone("+998905556677")) }))));
        var answer = JsonNode.Parse(await created.Content.ReadAsStringAsync())!.AsArray();
        using var contact = await http.GetAsync($"/api/v4/contacts/{contactId}?with=leads");
        using var lead = await http.GetAsync($"/api/v4/leads/{(long)answer[0]!["id"]!}");

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(contactId, (long)answer[0]!["contact_id"]!);
        Assert.Equal("a", (string?)answer[0]!["request_id"]![0]);
        Assert.False((bool)answer[0]!["merged"]!);
        Assert.NotEqual(contactId, (long)answer[1]!["contact_id"]!);
        Assert.Equal((long)answer[0]!["id"]!, (long)(await Amo.ReadObjectAsync(contact))["_embedded"]!["leads"]![0]!["id"]!);
        var leadBody = await Amo.ReadObjectAsync(lead);
        Assert.Equal(EmulatorSeed.SecondNewStatusId, (long)leadBody["status_id"]!);
        Assert.Equal(EmulatorSeed.SecondPipelineId, (long)leadBody["pipeline_id"]!);
        Assert.Equal(2, amo.State.ContactCount());
    }

    [Fact]
    public async Task Merged_contact_answers_404_and_cannot_be_linked()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var winner = amo.State.SeedContact(amo.State.MainAccount, "Winner", ["+998901112233"], []);
        var loser = amo.State.SeedContact(amo.State.MainAccount, "Loser", ["+998905556677"], []);
        using var control = Amo.Client(amo);

        using var merge = await control.PostAsync("/_emulator/contacts/merge", Amo.Json(new JsonObject { ["winner"] = winner, ["loser"] = loser }));
        using var gone = await http.GetAsync($"/api/v4/contacts/{loser}");
        using var link = await http.PostAsync("/api/v4/leads/complex", Amo.Json(new JsonArray(ComplexLead("a", new JsonObject { ["id"] = loser }))));
        using var byLoserPhone = await http.GetAsync("/api/v4/contacts?query=905556677");

        Assert.Equal(HttpStatusCode.NoContent, merge.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, link.StatusCode);
        Assert.Equal(winner, (long)(await Amo.ReadObjectAsync(byLoserPhone))["_embedded"]!["contacts"]![0]!["id"]!);
        Assert.Equal(1, (int)JsonNode.Parse(await control.GetStringAsync($"/_emulator/stats?account={amo.State.MainAccount.Subdomain}"))!["contacts"]!);
    }

    [Fact]
    public async Task Patch_sets_the_values_of_the_fields_it_names_and_touches_updated_at()
    {
        var time = new TestTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        await using var amo = await Amo.StartAsync(time: time);
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var id = amo.State.SeedContact(amo.State.MainAccount, "Known", ["+998901112233"], ["a@example.com"]);
        time.Advance(TimeSpan.FromMinutes(5));

        using var patch = await http.PatchAsync("/api/v4/contacts", Amo.Json(new JsonArray(new JsonObject
        {
            ["id"] = id,
            ["custom_fields_values"] = new JsonArray(new JsonObject
            {
                ["field_code"] = "PHONE",
                ["values"] = new JsonArray(new JsonObject { ["value"] = "+998901112233" }, new JsonObject { ["value"] = "+998935550000" }),
            }),
        })));
        var contact = amo.State.FindContact(id, amo.State.MainAccount)!;

        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        var fields = contact["custom_fields_values"]!.AsArray();
        Assert.Equal(2, fields.Single(f => (string?)f!["field_code"] == "PHONE")!["values"]!.AsArray().Count);
        Assert.Equal("a@example.com", (string?)fields.Single(f => (string?)f!["field_code"] == "EMAIL")!["values"]![0]!["value"]);
        Assert.Equal(1_800_000_300, (long)contact["updated_at"]!);
    }

    [Fact]
    public async Task Contacts_of_unsorted_items_are_searchable_per_account_and_counted_in_stats()
    {
        await using var amo = await Amo.StartAsync();
        var other = amo.State.AddAccount("other", 42);
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        using var otherHttp = Amo.Client(amo, amo.State.IssueTokens(other).AccessToken);
        using var control = Amo.Client(amo);

        using var created = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("u"))));
        using var mine = await http.GetAsync("/api/v4/contacts?query=901234567");
        using var theirs = await otherHttp.GetAsync("/api/v4/contacts?query=901234567");
        using var stats = await control.GetAsync("/_emulator/stats");

        Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, theirs.StatusCode);
        var body = await Amo.ReadObjectAsync(stats);
        Assert.Equal(1, (int)body["contacts"]!);
        Assert.Equal(2, (int)body["contact_searches"]!);
    }

    [Fact]
    public async Task Post_leads_links_contacts_by_id_only()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var id = amo.State.SeedContact(amo.State.MainAccount, "Known", ["+998901112233"], []);

        using var linked = await http.PostAsync("/api/v4/leads", Amo.Json(new JsonArray(new JsonObject
        {
            ["name"] = "Direct",
            ["_embedded"] = new JsonObject { ["contacts"] = new JsonArray(new JsonObject { ["id"] = id }) },
        })));
        using var contact = await http.GetAsync($"/api/v4/contacts/{id}?with=leads");

        Assert.Equal(HttpStatusCode.OK, linked.StatusCode);
        var leadId = (long)(await Amo.ReadObjectAsync(linked))["_embedded"]!["leads"]![0]!["id"]!;
        Assert.Equal(leadId, (long)(await Amo.ReadObjectAsync(contact))["_embedded"]!["leads"]![0]!["id"]!);
    }
}
