using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Leads;

// What amoCRM receives for a lead: checked on the item the emulator accepted.
public sealed class LeadMappingTests
{
    [Fact]
    public async Task Source_form_page_referer_and_ip_go_into_source_name_and_metadata()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""
            {"source":"website","form_name":"Contact Form","form_page":"https://mysite.uz/contact",
             "referer":"https://google.com","ip":"203.0.113.7",
             "lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = Assert.Single(amo.State.Unsorted).Item;
        Assert.Equal("website", item["source_name"]!.GetValue<string>());
        var metadata = item["metadata"]!.AsObject();
        Assert.Equal("Contact Form", metadata["form_name"]!.GetValue<string>());
        Assert.Equal("https://mysite.uz/contact", metadata["form_page"]!.GetValue<string>());
        Assert.Equal("https://google.com", metadata["referer"]!.GetValue<string>());
        Assert.Equal("203.0.113.7", metadata["ip"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(metadata["form_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Without_source_and_form_name_the_old_defaults_are_sent()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync(Json.MinimalLead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = Assert.Single(amo.State.Unsorted).Item;
        Assert.Equal("gateway", item["source_name"]!.GetValue<string>());
        Assert.Equal("Gateway Form", item["metadata"]!["form_name"]!.GetValue<string>());
        Assert.Null(item["metadata"]!["form_page"]);
        Assert.Null(item["metadata"]!["referer"]);
    }

    [Fact]
    public async Task Form_id_is_the_same_for_the_same_form_name_and_differs_for_another()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        foreach (var form in new[] { "Contact Form", "Contact Form", "Callback" })
        {
            var response = await client.PostLeadAsync($$$"""{"form_name":"{{{form}}}","lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"}}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var formIds = amo.State.Unsorted.Select(u => u.Item["metadata"]!["form_id"]!.GetValue<string>()).ToList();
        Assert.Equal(3, formIds.Count);
        Assert.Equal(formIds[0], formIds[1]);
        Assert.NotEqual(formIds[0], formIds[2]);
    }

    [Fact]
    public async Task Form_id_stays_the_same_across_gateway_restarts()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        foreach (var _ in new[] { 1, 2 })
        {
            await using var app = new GatewayApp(amo);
            await app.AuthorizeAsync();
            using var client = app.CreateKeyedClient();
            var response = await client.PostLeadAsync("""{"form_name":"Contact Form","lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"}}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var formIds = amo.State.Unsorted.Select(u => u.Item["metadata"]!["form_id"]!.GetValue<string>()).ToList();
        Assert.Equal(2, formIds.Count);
        Assert.Equal(formIds[0], formIds[1]);
    }

    [Fact]
    public async Task Pipeline_id_is_passed_to_amoCRM()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync($$$"""{"pipeline_id":{{{EmulatorSeed.SecondPipelineId}}},"lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(EmulatorSeed.SecondPipelineId, Assert.Single(amo.State.Unsorted).Item["pipeline_id"]!.GetValue<long>());
        Assert.Equal(EmulatorSeed.SecondPipelineId, Assert.Single(amo.State.Leads).PipelineId);
    }

    [Fact]
    public async Task Lead_name_and_price_reach_amoCRM()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""{"lead":{"name":"Yangi mijoz","price":50000},"contact":{"phone":"+998901234567"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lead = Assert.Single(amo.State.Leads);
        Assert.Equal("Yangi mijoz", lead.Name);
        Assert.Equal(50000, lead.Price);
        ApiAssert.SameJson("""{"name":"Yangi mijoz","price":50000}""", LeadOf(amo));
    }

    [Fact]
    public async Task Custom_fields_become_amoCRM_custom_fields_values_by_id_or_code()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[
                {"field_id":{{{EmulatorSeed.ProductFieldId}}},"value":"Oshxona mebeli"},
                {"field_id":{{{EmulatorSeed.BudgetFieldId}}},"value":42},
                {"field_id":{{{EmulatorSeed.ChannelFieldId}}},"enum_id":{{{EmulatorSeed.ChannelWebsiteEnumId}}}},
                {"field_id":{{{EmulatorSeed.InterestsFieldId}}},"enum_ids":[{{{EmulatorSeed.InterestsPricingEnumId}}},{{{EmulatorSeed.InterestsDeliveryEnumId}}}]},
                {"field_code":"UTM_REFERRER","value":"https://ref.example.uz"}]},
             "contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        ApiAssert.SameJson($$$"""
            [{"field_id":{{{EmulatorSeed.ProductFieldId}}},"values":[{"value":"Oshxona mebeli"}]},
             {"field_id":{{{EmulatorSeed.BudgetFieldId}}},"values":[{"value":42}]},
             {"field_id":{{{EmulatorSeed.ChannelFieldId}}},"values":[{"enum_id":{{{EmulatorSeed.ChannelWebsiteEnumId}}}}]},
             {"field_id":{{{EmulatorSeed.InterestsFieldId}}},"values":[{"enum_id":{{{EmulatorSeed.InterestsPricingEnumId}}}},{"enum_id":{{{EmulatorSeed.InterestsDeliveryEnumId}}}}]},
             {"field_code":"UTM_REFERRER","values":[{"value":"https://ref.example.uz"}]}]
            """, LeadOf(amo)["custom_fields_values"]);
    }

    [Fact]
    public async Task A_custom_field_code_keeps_its_case_and_amoCRMs_system_codes_are_upper_cased()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[
                {"field_code":"{{{EmulatorSeed.ProductFieldCode}}}","value":"Oshxona mebeli"},
                {"field_code":"utm_referrer","value":"https://ref.example.uz"},
                {"field_code":"Gclid","values":[{"value":"Cj0KCQ"}]}]},
             "contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        ApiAssert.SameJson($$$"""
            [{"field_code":"{{{EmulatorSeed.ProductFieldCode}}}","values":[{"value":"Oshxona mebeli"}]},
             {"field_code":"UTM_REFERRER","values":[{"value":"https://ref.example.uz"}]},
             {"field_code":"GCLID","values":[{"value":"Cj0KCQ"}]}]
            """, LeadOf(amo)["custom_fields_values"]);
    }

    [Fact]
    public async Task Tags_given_as_names_objects_and_ids_become_amoCRM_tags()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz","tags":["website",{"name":"hot-lead"},{"id":1234}]},"contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        ApiAssert.SameJson("""[{"name":"website"},{"name":"hot-lead"},{"id":1234}]""", LeadOf(amo)["_embedded"]?["tags"]);
    }

    [Fact]
    public async Task Contact_phone_and_email_become_WORK_multitext_fields()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz"},"contact":{"name":"Alisher Navoiy","phone":"+998901234567","email":"a@example.uz"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var contact = Assert.Single(Assert.Single(amo.State.Unsorted).Item["_embedded"]!["contacts"]!.AsArray());
        ApiAssert.SameJson("""
            {"name":"Alisher Navoiy","custom_fields_values":[
                {"field_code":"PHONE","values":[{"value":"+998901234567","enum_code":"WORK"}]},
                {"field_code":"EMAIL","values":[{"value":"a@example.uz","enum_code":"WORK"}]}]}
            """, contact);
    }

    [Fact]
    public async Task Utm_values_and_gclid_fill_the_accounts_tracking_fields()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"},
             "utm":{"utm_source":"google","utm_medium":"cpc","utm_campaign":"spring_sale","utm_term":"mebel","utm_content":"banner_1","gclid":"Cj0KCQ"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var byField = FieldValues(LeadOf(amo));
        Assert.Equal(
            new Dictionary<string, string>
            {
                [EmulatorSeed.UtmSourceFieldId.ToString(System.Globalization.CultureInfo.InvariantCulture)] = """[{"value":"google"}]""",
                [EmulatorSeed.UtmMediumFieldId.ToString(System.Globalization.CultureInfo.InvariantCulture)] = """[{"value":"cpc"}]""",
                [EmulatorSeed.UtmCampaignFieldId.ToString(System.Globalization.CultureInfo.InvariantCulture)] = """[{"value":"spring_sale"}]""",
                [EmulatorSeed.UtmTermFieldId.ToString(System.Globalization.CultureInfo.InvariantCulture)] = """[{"value":"mebel"}]""",
                [EmulatorSeed.UtmContentFieldId.ToString(System.Globalization.CultureInfo.InvariantCulture)] = """[{"value":"banner_1"}]""",
                [EmulatorSeed.GclidFieldId.ToString(System.Globalization.CultureInfo.InvariantCulture)] = """[{"value":"Cj0KCQ"}]""",
            },
            byField);
    }

    [Fact]
    public async Task Utm_values_that_all_have_fields_leave_no_note()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"},"utm":{"utm_source":"google","utm_medium":"cpc"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(amo.State.Unsorted);
        Assert.Empty(amo.State.Notes);
    }

    [Fact]
    public async Task Fbclid_without_a_field_and_the_comment_share_one_common_note_on_the_lead_comment_first()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"},
             "utm":{"utm_source":"facebook","fbclid":"IwAR2xyz"},"comment":"Mijoz mahsulot haqida so'radi"}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var unsorted = Assert.Single(amo.State.Unsorted);
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal(unsorted.LeadId, note.EntityId);
        Assert.Equal("common", note.NoteType);
        Assert.StartsWith("Mijoz mahsulot haqida so'radi", note.Text, StringComparison.Ordinal);
        Assert.Contains("fbclid", note.Text, StringComparison.Ordinal);
        Assert.Contains("IwAR2xyz", note.Text, StringComparison.Ordinal);
        Assert.Contains(EmulatorSeed.UtmSourceFieldId.ToString(System.Globalization.CultureInfo.InvariantCulture), FieldValues(LeadOf(amo)).Keys);
        Assert.DoesNotContain(LeadOf(amo)["custom_fields_values"]!.AsArray(), f => f?.ToJsonString().Contains("IwAR2xyz", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task A_comment_alone_becomes_a_common_note_with_exactly_its_text()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"},"comment":"Mijoz mahsulot haqida so'radi"}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal(Assert.Single(amo.State.Unsorted).LeadId, note.EntityId);
        Assert.Equal("common", note.NoteType);
        Assert.Equal("Mijoz mahsulot haqida so'radi", note.Text);
    }

    [Fact]
    public async Task A_lead_without_utm_or_comment_sends_only_the_lead_no_note_and_no_field_lookup()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync(Json.MinimalLead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(amo.State.Notes);
        Assert.Equal(["POST /api/v4/leads/unsorted/forms"], amo.State.Requests.Select(r => r.Method + " " + r.Path));
    }

    [Fact]
    public async Task The_success_answer_carries_uid_source_uid_and_lead_id_of_what_amoCRM_created()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync(Json.MinimalLead);

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.OK);
        Assert.True(body["success"]!.GetValue<bool>());
        Assert.Equal("Unsorted lead created successfully", body["message"]!.GetValue<string>());
        var data = body["data"]!.AsObject();
        var created = Assert.Single(amo.State.Unsorted);
        Assert.Equal(created.Uid, data["uid"]!.GetValue<string>());
        Assert.Equal(created.Uid, Assert.Single(data["_embedded"]!["unsorted"]!.AsArray())!["uid"]!.GetValue<string>());
        Assert.Equal(created.SourceUid, data["source_uid"]!.GetValue<string>());
        Assert.Equal(created.Item["source_uid"]!.GetValue<string>(), data["source_uid"]!.GetValue<string>());
        Assert.Equal(created.LeadId, data["lead_id"]!.GetValue<long>());
    }

    [Fact]
    public async Task Two_leads_get_different_source_uids()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var first = await ApiAssert.SuccessDataAsync(await client.PostLeadAsync(Json.MinimalLead));
        var second = await ApiAssert.SuccessDataAsync(await client.PostLeadAsync(Json.MinimalLead));

        Assert.Equal(2, amo.State.Unsorted.Count);
        Assert.NotEqual(amo.State.Unsorted[0].SourceUid, amo.State.Unsorted[1].SourceUid);
        Assert.NotEqual(first["source_uid"]!.GetValue<string>(), second["source_uid"]!.GetValue<string>());
    }

    private static JsonObject LeadOf(AmoEmulator amo) =>
        Assert.Single(Assert.Single(amo.State.Unsorted).Item["_embedded"]!["leads"]!.AsArray())!.AsObject();

    // field_id (or field_code) -> its values, so the order amoCRM receives them in does not matter.
    private static Dictionary<string, string> FieldValues(JsonObject lead) =>
        lead["custom_fields_values"]!.AsArray().ToDictionary(
            f => (f!["field_id"] ?? f["field_code"])!.ToJsonString().Trim('"'),
            f => f!["values"]!.ToJsonString());
}
