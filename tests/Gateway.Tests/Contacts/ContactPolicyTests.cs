using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.Contacts;

// Lead mode and the contact policies through the HTTP surface, against the emulator's contacts.
public sealed class ContactPolicyTests
{
    private static string Lead(string name, string? phone = null, string? email = null, string contacts = "link") =>
        new JsonObject
        {
            ["lead"] = new JsonObject { ["name"] = name },
            ["contact"] = new JsonObject { ["name"] = "Aziza", ["phone"] = phone, ["email"] = email },
            ["delivery"] = new JsonObject
            {
                ["mode"] = "lead",
                ["pipeline_id"] = EmulatorSeed.SecondPipelineId,
                ["status_id"] = EmulatorSeed.SecondNewStatusId,
                ["contacts"] = contacts,
            },
        }.ToJsonString();

    private static async Task<(AmoEmulator Amo, GatewayApp App, HttpClient Client)> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var app = new GatewayApp(amo, settings: settings);
        await app.AuthorizeAsync();
        return (amo, app, app.CreateKeyedClient());
    }

    private static async Task<JsonObject> DeliveredAsync(HttpClient client, string body)
    {
        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", body);
        var envelope = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.OK);
        return await client.LeadAsync(envelope["data"]!["id"]!.GetValue<long>());
    }

    private static IReadOnlyList<long> LeadsOf(AmoEmulator amo, long contactId) =>
        [.. amo.State.FindContact(contactId, amo.State.MainAccount, withLeads: true)!["_embedded"]!["leads"]!.AsArray().Select(l => (long)l!["id"]!)];

    [Fact]
    public async Task Two_leads_with_the_same_phone_typed_differently_go_to_one_contact_with_both_leads()
    {
        var (amo, app, client) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var ___ = client;

        var first = await DeliveredAsync(client, Lead("Monday", phone: "+998 90 111 22 33"));
        var second = await DeliveredAsync(client, Lead("Friday", phone: "901112233"));

        Assert.Equal(1, amo.State.ContactCount());
        var contactId = (long)first["contact_id"]!;
        Assert.Equal(contactId, (long)second["contact_id"]!);
        Assert.Equal([(long)second["lead_id"]!, (long)first["lead_id"]!], LeadsOf(amo, contactId).OrderDescending());
        var lead = amo.State.FindLeads(amo.State.MainAccount, "Friday", null, new HashSet<string>()).Single();
        Assert.Equal(EmulatorSeed.SecondNewStatusId, (long)lead["status_id"]!);
        Assert.Empty(amo.State.Unsorted);
        Assert.Equal("link", (string?)second["delivery"]!["steps"]!.AsArray().Last(s => (string?)s!["step"] != "note")!["step"]);
        Assert.Equal(contactId, (long)second["delivery"]!["linked_contact_id"]!);
        Assert.Equal((long)second["lead_id"]!, (long)second["delivery"]!["target_lead_id"]!);
    }

    [Fact]
    public async Task A_lead_whose_email_matches_an_existing_contact_is_linked_to_it_and_its_new_phone_appended()
    {
        var (amo, app, client) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var ___ = client;
        var known = amo.State.SeedContact(amo.State.MainAccount, "Known", ["+998 93 000 00 00"], ["Aziza@Example.com"], responsibleUserId: 777);

        var lead = await DeliveredAsync(client, Lead("By email", phone: "+998901112233", email: "aziza@example.com"));

        Assert.Equal(known, (long)lead["contact_id"]!);
        Assert.Equal(777, (long)lead["delivery"]!["contact_responsible_user_id"]!);
        Assert.Equal(1, amo.State.ContactCount());
        var phones = amo.State.FindContact(known, amo.State.MainAccount)!["custom_fields_values"]!.AsArray()
            .Single(f => (string?)f!["field_code"] == "PHONE")!["values"]!.AsArray().Select(v => (string?)v!["value"]).ToList();
        Assert.Equal(["+998 93 000 00 00", "+998901112233"], phones);
    }

    [Fact]
    public async Task A_look_alike_that_the_search_finds_by_text_but_whose_phone_differs_gets_a_new_contact()
    {
        var (amo, app, client) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var ___ = client;
        // "901112233" is in its name and its phone is another country's number ending the same way.
        var lookAlike = amo.State.SeedContact(amo.State.MainAccount, "Order 901112233", ["+7 901112233"], []);

        var lead = await DeliveredAsync(client, Lead("New customer", phone: "+998901112233"));

        Assert.NotEqual(lookAlike, (long)lead["contact_id"]!);
        Assert.Equal(2, amo.State.ContactCount());
        Assert.True(amo.State.ContactSearches >= 1);
        Assert.Equal("not_found", (string?)lead["delivery"]!["steps"]![0]!["outcome"]);
    }

    [Fact]
    public async Task Note_open_lead_adds_the_submission_as_a_note_to_the_contacts_open_lead_and_creates_no_lead()
    {
        var (amo, app, client) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var ___ = client;
        var first = await DeliveredAsync(client, Lead("First", phone: "+998901112233"));
        var leadsBefore = amo.State.Leads.Count;

        var second = await DeliveredAsync(client, Lead("Again", phone: "90 111 22 33", contacts: "note_open_lead"));
        await Eventually.TrueAsync(() => amo.State.Notes.Any(n => n.EntityId == (long)first["lead_id"]! && (n.Text ?? "").Contains("Again", StringComparison.Ordinal)), "the note on the open lead");

        Assert.Equal(leadsBefore, amo.State.Leads.Count);
        Assert.Equal((long)first["lead_id"]!, (long)second["lead_id"]!);
        Assert.Equal((long)first["lead_id"]!, (long)second["delivery"]!["target_lead_id"]!);
    }

    [Fact]
    public async Task Note_open_lead_creates_a_lead_when_the_contacts_lead_is_closed()
    {
        var (amo, app, client) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var ___ = client;
        var first = await DeliveredAsync(client, Lead("Won already", phone: "+998901112233"));
        amo.State.SetLeadStatus((long)first["lead_id"]!, EmulatorSeed.SecondPipelineId, EmulatorSeed.WonStatusId);

        var second = await DeliveredAsync(client, Lead("Next purchase", phone: "+998901112233", contacts: "note_open_lead"));

        Assert.NotEqual((long)first["lead_id"]!, (long)second["lead_id"]!);
        Assert.Equal((long)first["contact_id"]!, (long)second["contact_id"]!);
        Assert.Equal(1, amo.State.ContactCount());
    }

    [Fact]
    public async Task A_repeat_customer_costs_no_search_and_a_merged_contact_in_the_cache_is_searched_again()
    {
        var (amo, app, client) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var ___ = client;
        var first = await DeliveredAsync(client, Lead("One", phone: "+998901112233"));
        var searches = amo.State.ContactSearches;

        await DeliveredAsync(client, Lead("Two", phone: "+998901112233"));
        Assert.Equal(searches, amo.State.ContactSearches);

        // A manager merges the gateway's contact into another one: the cached id is gone.
        var winner = amo.State.SeedContact(amo.State.MainAccount, "Winner", ["+998935550000"], []);
        Assert.True(amo.State.MergeContacts(amo.State.MainAccount, winner, (long)first["contact_id"]!));

        var third = await DeliveredAsync(client, Lead("Three", phone: "+998901112233"));
        var fourth = await DeliveredAsync(client, Lead("Four", phone: "+998901112233", contacts: "note_open_lead"));

        Assert.Equal(winner, (long)third["contact_id"]!);
        Assert.True(amo.State.ContactSearches > searches);
        Assert.Equal(winner, (long)fourth["contact_id"]!);
        Assert.Equal(1, amo.State.ContactCount());
        Assert.Contains(third["delivery"]!["steps"]!.AsArray(), s => (string?)s!["outcome"] == "contact_gone");
    }

    [Fact]
    public async Task Several_matching_contacts_link_the_most_recently_updated_and_the_note_says_so()
    {
        var (amo, app, client) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var ___ = client;
        var older = amo.State.SeedContact(amo.State.MainAccount, "Older", ["+998901112233"], [], updatedAt: 1_700_000_000);
        var newer = amo.State.SeedContact(amo.State.MainAccount, "Newer", ["998901112233"], [], updatedAt: 1_700_100_000);

        var lead = await DeliveredAsync(client, Lead("Which one", phone: "+998901112233"));
        await Eventually.TrueAsync(() => amo.State.Notes.Any(n => n.EntityId == (long)lead["lead_id"]!), "the lead's note");

        Assert.Equal(newer, (long)lead["contact_id"]!);
        var note = amo.State.Notes.Single(n => n.EntityId == (long)lead["lead_id"]!).Text!;
        Assert.Contains("2 contacts match", note, StringComparison.Ordinal);
        Assert.Contains(older.ToString(System.Globalization.CultureInfo.InvariantCulture), note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_delivery_object_is_a_422_naming_the_setting_and_unsorted_stays_the_default()
    {
        var (amo, app, client) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var ___ = client;

        var bad = await client.PostJsonAsync("/api/v1/leads/unsorted", """{"lead":{"name":"x"},"contact":{"phone":"+998901112233"},"delivery":{"mode":"unsorted","contacts":"link","colour":1}}""");
        var envelope = await ApiAssert.EnvelopeAsync(bad, HttpStatusCode.UnprocessableEntity);
        var plain = await DeliveredAsync(client, OutboxTestKit.Lead(1));

        Assert.NotNull(envelope["details"]!["delivery.colour"]);
        Assert.Null(envelope["details"]!["delivery.contacts"]);
        Assert.Single(amo.State.Unsorted);
        Assert.Null(plain["delivery"]);
    }
}
