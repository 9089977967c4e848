using System.Net;
using System.Text.Json.Nodes;

namespace Emulator.Tests;

public sealed class ApiTests
{
    [Fact]
    public async Task Account_answers_hal_json_with_the_configured_id_and_subdomain()
    {
        await using var amo = await Amo.StartAsync(o => o.Subdomain = "acme");
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        using var response = await http.GetAsync("/api/v4/account");

        Assert.Equal("application/hal+json", response.Content.Headers.ContentType?.MediaType);
        var account = await Amo.ReadObjectAsync(response);
        Assert.Equal(amo.Options.AccountId, (long)account["id"]!);
        Assert.Equal("acme", (string?)account["subdomain"]);
    }

    [Fact]
    public async Task Lead_custom_fields_paginate_and_the_last_page_has_no_next()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        var ids = new List<long>();
        var pages = 0;
        string? next = "/api/v4/leads/custom_fields";
        while (next is not null)
        {
            using var response = await http.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await Amo.ReadObjectAsync(response);
            ids.AddRange(page["_embedded"]!["custom_fields"]!.AsArray().Select(f => (long)f!["id"]!));
            Assert.NotNull(page["_links"]!["last"]);
            next = (string?)page["_links"]!["next"]?["href"];
            pages++;
        }

        Assert.Equal(2, pages);
        Assert.Equal(EmulatorSeed.LeadFieldCount, ids.Distinct().Count());
        Assert.Contains(EmulatorSeed.UtmSourceFieldId, ids);
    }

    [Fact]
    public async Task A_page_past_the_end_is_204_without_a_body()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        using var response = await http.GetAsync("/api/v4/leads/custom_fields?page=3&limit=50");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Tracking_data_filter_lists_the_utm_fields_with_their_codes()
    {
        await using var amo = await Amo.StartAsync(o => o.MaxPageSize = 5);
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        using var first = await http.GetAsync("/api/v4/leads/custom_fields?filter%5Btype%5D%5B0%5D=tracking_data&limit=250");
        var page = await Amo.ReadObjectAsync(first);
        using var second = await http.GetAsync((string)page["_links"]!["next"]!["href"]!);
        var last = await Amo.ReadObjectAsync(second);

        var codes = page["_embedded"]!["custom_fields"]!.AsArray().Concat(last["_embedded"]!["custom_fields"]!.AsArray())
            .Select(f => (string?)f!["code"]).ToList();
        Assert.Equal(["UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_TERM", "UTM_CONTENT", "UTM_REFERRER", "YCLID", "GCLID"], codes);
        Assert.Equal(2, (int)page["_page_count"]!);
        Assert.Null(last["_links"]!["next"]);
    }

    [Fact]
    public async Task Unsorted_items_create_leads_and_contacts_answered_in_request_order()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var batch = new JsonArray(
            Amo.UnsortedItem("r-1", Amo.Field(EmulatorSeed.ProductFieldId, "Credit")),
            Amo.UnsortedItem("r-2", new JsonObject
            {
                ["field_code"] = "UTM_SOURCE",
                ["values"] = new JsonArray(new JsonObject { ["value"] = "instagram" }),
            }));

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(batch));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await Amo.ReadObjectAsync(response);
        var unsorted = answer["_embedded"]!["unsorted"]!.AsArray();
        Assert.Equal(2, (int)answer["_total_items"]!);
        Assert.Equal(["r-1", "r-2"], unsorted.Select(u => (string?)u!["request_id"]));
        Assert.Equal(60, ((string)unsorted[0]!["uid"]!).Length);
        Assert.Equal(7706511, (long)unsorted[0]!["_embedded"]!["leads"]![0]!["id"]!);
        Assert.Equal(11075543, (long)unsorted[0]!["_embedded"]!["contacts"]![0]!["id"]!);
        Assert.Empty(unsorted[0]!["_embedded"]!["companies"]!.AsArray());

        var records = amo.State.Unsorted;
        Assert.Equal(["r-1", "r-2"], records.Select(r => r.RequestId));
        Assert.Equal("gateway-r-2", records[1].SourceUid);
        Assert.True(JsonNode.DeepEquals(batch[1], records[1].Item));
        Assert.Equal(EmulatorSeed.MainPipelineId, amo.State.Leads[0].PipelineId);
    }

    [Fact]
    public async Task Unsorted_batch_with_an_unknown_field_id_is_rejected_whole()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var batch = new JsonArray(
            Amo.UnsortedItem("good", Amo.Field(EmulatorSeed.ProductFieldId, "Credit")),
            Amo.UnsortedItem("bad", Amo.Field(999_999, "whatever")));

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(batch));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await Amo.ReadObjectAsync(response);
        var entry = Assert.Single(problem["validation-errors"]!.AsArray());
        Assert.Equal("bad", (string?)entry!["request_id"]);
        var error = Assert.Single(entry["errors"]!.AsArray());
        Assert.Equal("NotSupportedChoice", (string?)error!["code"]);
        Assert.Equal("_embedded.leads.0.custom_fields_values.0.field_id", (string?)error["path"]);
        Assert.Equal("Request validation failed", (string?)problem["detail"]);
        Assert.Empty(amo.State.Unsorted);
        Assert.Empty(amo.State.Leads);
    }

    [Fact]
    public async Task Unsorted_values_are_checked_against_the_field_type()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var item = Amo.UnsortedItem(
            "typed",
            new JsonObject { ["field_id"] = EmulatorSeed.ChannelFieldId, ["values"] = new JsonArray(new JsonObject { ["enum_id"] = 1 }) },
            Amo.Field(EmulatorSeed.BudgetFieldId, "a lot"),
            new JsonObject { ["field_id"] = EmulatorSeed.UrgencyFieldId, ["values"] = new JsonArray(new JsonObject { ["value"] = "High" }) });
        item.Remove("source_name");

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(item)));

        var errors = (await Amo.ReadObjectAsync(response))["validation-errors"]![0]!["errors"]!.AsArray()
            .Select(e => ((string?)e!["code"], (string?)e["path"])).ToList();
        Assert.Equal(
            [
                ("FieldMissing", "source_name"),
                ("NotSupportedChoice", "_embedded.leads.0.custom_fields_values.0.values.0.enum_id"),
                ("InvalidType", "_embedded.leads.0.custom_fields_values.1.values.0.value"),
            ],
            errors);
    }

    [Fact]
    public async Task Dates_want_Unix_seconds_or_RFC_3339_checkboxes_a_bool_and_urls_an_address_like_amoCRM()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var refused = Amo.UnsortedItem(
            "as-typed",
            Amo.Field(EmulatorSeed.VisitDateFieldId, "31.05.2024"),
            Amo.Field(EmulatorSeed.AgreedFieldId, "yes"),
            Amo.Field(EmulatorSeed.SiteFieldId, "mysite uz"),
            Amo.Field(EmulatorSeed.CallAtFieldId, "2024-05-31T14:30:00"));

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(refused)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await Amo.ReadObjectAsync(response))["validation-errors"]![0]!["errors"]!.AsArray()
            .Select(e => ((string?)e!["code"], (string?)e["path"])).ToList();
        Assert.Equal(
            [
                ("InvalidType", "_embedded.leads.0.custom_fields_values.0.values.0.value"),
                ("InvalidType", "_embedded.leads.0.custom_fields_values.1.values.0.value"),
                ("InvalidUrl", "_embedded.leads.0.custom_fields_values.2.values.0.value"),
                ("InvalidType", "_embedded.leads.0.custom_fields_values.3.values.0.value"),
            ],
            errors);

        var taken = Amo.UnsortedItem(
            "typed",
            new JsonObject { ["field_id"] = EmulatorSeed.VisitDateFieldId, ["values"] = new JsonArray(new JsonObject { ["value"] = 1717102800 }) },
            new JsonObject { ["field_id"] = EmulatorSeed.AgreedFieldId, ["values"] = new JsonArray(new JsonObject { ["value"] = true }) },
            Amo.Field(EmulatorSeed.SiteFieldId, "https://mysite.uz/page"),
            Amo.Field(EmulatorSeed.CallAtFieldId, "2024-05-31T14:30:00+05:00"));
        using var accepted = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(taken)));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var leadId = (long)(await Amo.ReadObjectAsync(accepted))["_embedded"]!["unsorted"]![0]!["_embedded"]!["leads"]![0]!["id"]!;
        var lead = await Amo.ReadObjectAsync(await http.GetAsync($"/api/v4/leads/{leadId}"));
        var stored = lead["custom_fields_values"]!.AsArray().ToDictionary(f => (long)f!["field_id"]!, f => f!["values"]![0]!["value"]!);
        Assert.Equal(1717102800L, (long)stored[EmulatorSeed.VisitDateFieldId]);
        Assert.True((bool)stored[EmulatorSeed.AgreedFieldId]);
        Assert.Equal(1717147800L, (long)stored[EmulatorSeed.CallAtFieldId]);
    }

    [Fact]
    public async Task The_accounts_time_zone_comes_only_when_asked_for_with_datetime_settings()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        var plain = await Amo.ReadObjectAsync(await http.GetAsync("/api/v4/account"));
        var asked = await Amo.ReadObjectAsync(await http.GetAsync("/api/v4/account?with=datetime_settings"));

        Assert.Null(plain["_embedded"]!["datetime_settings"]);
        Assert.Equal("Europe/Moscow", (string?)asked["_embedded"]!["datetime_settings"]!["timezone"]);
        Assert.Equal("+03:00", (string?)asked["_embedded"]!["datetime_settings"]!["timezone_offset"]);
        Assert.Null(asked["_embedded"]!["task_types"]);
    }

    [Fact]
    public async Task An_absent_field_is_FieldMissing_and_an_empty_one_NotBlank_like_amoCRM()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var item = Amo.UnsortedItem(
            "missing",
            new JsonObject { ["values"] = new JsonArray(new JsonObject { ["value"] = "x" }) },
            new JsonObject { ["field_id"] = EmulatorSeed.ProductFieldId },
            new JsonObject { ["field_id"] = EmulatorSeed.ChannelFieldId, ["values"] = new JsonArray(new JsonObject()) });
        item.Remove("metadata");
        item["source_name"] = " ";

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(item)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await Amo.ReadObjectAsync(response))["validation-errors"]![0]!["errors"]!.AsArray();
        Assert.Equal(
            [
                ("NotBlank", "source_name", "This value should not be blank."),
                ("FieldMissing", "metadata", "This field is missing."),
                ("FieldMissing", "_embedded.leads.0.custom_fields_values.0.field_id", "This field is missing."),
                ("FieldMissing", "_embedded.leads.0.custom_fields_values.1.values", "This field is missing."),
                ("FieldMissing", "_embedded.leads.0.custom_fields_values.2.values.0.enum_id", "This field is missing."),
            ],
            errors.Select(e => ((string?)e!["code"], (string?)e["path"], (string?)e["detail"])));
    }

    [Fact]
    public async Task A_select_option_is_taken_by_enum_id_enum_code_or_its_text_in_any_case()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        static JsonObject Choice(long fieldId, params JsonObject[] values) => new() { ["field_id"] = fieldId, ["values"] = new JsonArray(values) };
        var item = Amo.UnsortedItem(
            "options",
            Choice(EmulatorSeed.ChannelFieldId, new JsonObject { ["enum_code"] = "TG" }),
            Choice(EmulatorSeed.UrgencyFieldId, new JsonObject { ["value"] = "hIGH" }),
            Choice(
                EmulatorSeed.InterestsFieldId,
                new JsonObject { ["enum_id"] = EmulatorSeed.InterestsPricingEnumId },
                new JsonObject { ["enum_code"] = "delivery" },
                new JsonObject { ["value"] = "support" }));

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(item)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var lead = await http.GetAsync($"/api/v4/leads/{amo.State.Leads[0].Id}");
        var fields = (await Amo.ReadObjectAsync(lead))["custom_fields_values"]!.AsArray();
        Assert.Equal(
            [
                [EmulatorSeed.ChannelTelegramEnumId],
                [EmulatorSeed.UrgencyHighEnumId],
                [EmulatorSeed.InterestsPricingEnumId, EmulatorSeed.InterestsDeliveryEnumId, EmulatorSeed.InterestsSupportEnumId],
            ],
            fields.Select(f => f!["values"]!.AsArray().Select(value => (long)value!["enum_id"]!).ToArray()));
        Assert.Equal("Telegram", (string?)fields[0]!["values"]![0]!["value"]);
        Assert.Equal("TG", (string?)fields[0]!["values"]![0]!["enum_code"]);
    }

    [Fact]
    public async Task An_unknown_enum_code_is_NotSupportedChoice_and_enum_codes_keep_their_case()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var item = Amo.UnsortedItem(
            "bad-option",
            new JsonObject { ["field_id"] = EmulatorSeed.ChannelFieldId, ["values"] = new JsonArray(new JsonObject { ["enum_code"] = "tg" }) });

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(item)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single((await Amo.ReadObjectAsync(response))["validation-errors"]![0]!["errors"]!.AsArray());
        Assert.Equal(("NotSupportedChoice", "_embedded.leads.0.custom_fields_values.0.values.0.enum_code"), ((string?)error!["code"], (string?)error["path"]));
    }

    [Fact]
    public async Task Field_codes_are_case_sensitive_except_the_predefined_ones()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        static JsonObject ByCode(string code) => new() { ["field_code"] = code, ["values"] = new JsonArray(new JsonObject { ["value"] = "x" }) };
        var good = Amo.UnsortedItem("good", ByCode(EmulatorSeed.ProductFieldCode), ByCode("utm_source"), ByCode("UTM_MEDIUM"));
        var bad = Amo.UnsortedItem("bad", ByCode(EmulatorSeed.ProductFieldCode.ToUpperInvariant()));

        using var rejected = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(good.DeepClone(), bad)));
        using var accepted = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(good)));

        Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);
        var entry = Assert.Single((await Amo.ReadObjectAsync(rejected))["validation-errors"]!.AsArray());
        Assert.Equal("bad", (string?)entry!["request_id"]);
        var error = Assert.Single(entry["errors"]!.AsArray());
        Assert.Equal(("NotSupportedChoice", "_embedded.leads.0.custom_fields_values.0.field_code"), ((string?)error!["code"], (string?)error["path"]));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        using var lead = await http.GetAsync($"/api/v4/leads/{amo.State.Leads[0].Id}");
        var fields = (await Amo.ReadObjectAsync(lead))["custom_fields_values"]!.AsArray();
        Assert.Equal([EmulatorSeed.ProductFieldId, EmulatorSeed.UtmSourceFieldId, EmulatorSeed.UtmMediumFieldId], fields.Select(f => (long)f!["field_id"]!));
    }

    [Fact]
    public async Task A_custom_field_or_tracking_value_over_256_characters_fails_the_whole_item_with_its_path()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var item = Amo.UnsortedItem(
            "long",
            Amo.Field(EmulatorSeed.ProductFieldId, new string('a', 256)),
            Amo.Field(EmulatorSeed.ProductFieldId, new string('a', 257)),
            Amo.Field(EmulatorSeed.UtmContentFieldId, new string('u', 600)));
        var phone = item["_embedded"]!["contacts"]![0]!["custom_fields_values"]![0]!["values"]![0]!;
        phone["value"] = new string('9', 257);

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("fine"), item)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var entry = Assert.Single((await Amo.ReadObjectAsync(response))["validation-errors"]!.AsArray());
        Assert.Equal("long", (string?)entry!["request_id"]);
        var errors = entry["errors"]!.AsArray().Select(e => ((string?)e!["code"], (string?)e["path"])).ToList();
        Assert.Equal(
            [
                ("InvalidLength", "_embedded.leads.0.custom_fields_values.1.values.0.value"),
                ("InvalidLength", "_embedded.leads.0.custom_fields_values.2.values.0.value"),
                ("InvalidLength", "_embedded.contacts.0.custom_fields_values.0.values.0.value"),
            ],
            errors);
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task Lead_and_contact_names_over_255_characters_are_refused()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var item = Amo.UnsortedItem("names");
        item["_embedded"]!["leads"]![0]!["name"] = new string('n', 256);
        item["_embedded"]!["contacts"]![0]!["first_name"] = new string('f', 256);
        var fits = Amo.UnsortedItem("fits");
        fits["_embedded"]!["leads"]![0]!["name"] = new string('n', 255);

        using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(fits, item)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var entry = Assert.Single((await Amo.ReadObjectAsync(response))["validation-errors"]!.AsArray());
        Assert.Equal("names", (string?)entry!["request_id"]);
        Assert.Equal(
            ["_embedded.leads.0.name", "_embedded.contacts.0.first_name"],
            entry["errors"]!.AsArray().Select(e => (string?)e!["path"]));
    }

    [Fact]
    public async Task Notes_land_on_the_lead()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        using var created = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("n"))));
        var leadId = amo.State.Leads.Single().Id;

        using var batch = await http.PostAsync("/api/v4/leads/notes", Amo.Json(new JsonArray(
            new JsonObject { ["entity_id"] = leadId, ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "utm_fbclid: abc" } },
            new JsonObject { ["entity_id"] = leadId, ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "second" }, ["request_id"] = "x" })));
        using var single = await http.PostAsync($"/api/v4/leads/{leadId}/notes", Amo.Json(new JsonArray(
            new JsonObject { ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "third" } })));

        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var notes = (await Amo.ReadObjectAsync(batch))["_embedded"]!["notes"]!.AsArray();
        Assert.Equal(["0", "x"], notes.Select(n => (string?)n!["request_id"]));
        Assert.All(notes, n => Assert.Equal(leadId, (long)n!["entity_id"]!));
        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        Assert.Equal(["utm_fbclid: abc", "second", "third"], amo.State.Notes.Select(n => n.Text));
        Assert.All(amo.State.Notes, n => Assert.Equal(leadId, n.EntityId));
    }

    [Fact]
    public async Task A_note_on_an_unknown_lead_is_a_validation_error()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        using var response = await http.PostAsync("/api/v4/leads/notes", Amo.Json(new JsonArray(
            new JsonObject { ["entity_id"] = 42, ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "hi" } })));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var entry = (await Amo.ReadObjectAsync(response))["validation-errors"]![0]!;
        Assert.Equal("0", (string?)entry["request_id"]);
        Assert.Equal("entity_id", (string?)entry["errors"]![0]!["path"]);
        Assert.Empty(amo.State.Notes);
    }

    [Fact]
    public async Task Created_lead_is_readable_and_its_contact_is_searchable()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        using var created = await http.PostAsync("/api/v4/leads/unsorted/forms",
            Amo.Json(new JsonArray(Amo.UnsortedItem("c", Amo.Field(EmulatorSeed.ProductFieldId, "Deposit")))));
        var leadId = amo.State.Leads.Single().Id;

        using var lead = await http.GetAsync($"/api/v4/leads/{leadId}");
        using var found = await http.GetAsync("/api/v4/contacts?query=998901234567");
        using var none = await http.GetAsync("/api/v4/contacts?query=nobody");
        using var missing = await http.GetAsync("/api/v4/leads/1");

        var body = await Amo.ReadObjectAsync(lead);
        Assert.Equal("Lead c", (string?)body["name"]);
        Assert.Equal(EmulatorSeed.MainUnsortedStatusId, (long)body["status_id"]!);
        Assert.Equal("Deposit", (string?)body["custom_fields_values"]![0]!["values"]![0]!["value"]);
        Assert.Single((await Amo.ReadObjectAsync(found))["_embedded"]!["contacts"]!.AsArray());
        Assert.Equal(HttpStatusCode.NoContent, none.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Pipelines_list_both_pipelines_and_an_unknown_one_is_404()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        using var list = await http.GetAsync("/api/v4/leads/pipelines");
        using var one = await http.GetAsync($"/api/v4/leads/pipelines/{EmulatorSeed.SecondPipelineId}");
        using var unknown = await http.GetAsync("/api/v4/leads/pipelines/1");

        var pipelines = (await Amo.ReadObjectAsync(list))["_embedded"]!["pipelines"]!.AsArray();
        Assert.Equal([EmulatorSeed.MainPipelineId, EmulatorSeed.SecondPipelineId], pipelines.Select(p => (long)p!["id"]!));
        var statuses = (await Amo.ReadObjectAsync(one))["_embedded"]!["statuses"]!.AsArray();
        Assert.Equal(EmulatorSeed.SecondUnsortedStatusId, (long)statuses.Single(s => (int)s!["type"]! == 1)!["id"]!);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Unknown_api_route_is_a_404_problem()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        using var response = await http.GetAsync("/api/v4/companies/nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(404, (int)(await Amo.ReadObjectAsync(response))["status"]!);
    }
}
