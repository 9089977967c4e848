using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.Leads;

// Values as people send them, made into what each amoCRM field type takes, using the account's own field list; what
// cannot be made valid is the caller's 422 at intake, or — when amoCRM was out of reach then — a line in the note.
// Each test has a clock of its own that it does not move: a loaded machine must not run out the intake's 2 s for the
// field list, which would take the lead unchecked instead of answering the 422 a test expects.
public sealed class FieldTypeTests
{
    // The emulated account's time zone (its datetime_settings): Europe/Moscow, +03:00 now, +04:00 in a 1990 summer.
    private static readonly TimeZoneInfo AccountZone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Moscow");

    [Fact]
    public async Task Dates_checkboxes_numbers_options_and_addresses_as_people_write_them_reach_amoCRM_in_the_types_it_takes()
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[
                {"field_id":{{{EmulatorSeed.VisitDateFieldId}}},"value":"31.05.2024"},
                {"field_id":{{{EmulatorSeed.CallAtFieldId}}},"value":"31.05.2024 14:30"},
                {"field_id":{{{EmulatorSeed.BirthdayFieldId}}},"value":"1990-05-31"},
                {"field_id":{{{EmulatorSeed.AgreedFieldId}}},"value":"yes"},
                {"field_id":{{{EmulatorSeed.BudgetFieldId}}},"value":"1 500,50"},
                {"field_id":{{{EmulatorSeed.ChannelFieldId}}},"value":"website"},
                {"field_id":{{{EmulatorSeed.InterestsFieldId}}},"value":["Pricing","support"]},
                {"field_id":{{{EmulatorSeed.UrgencyFieldId}}},"value":"HIGH"},
                {"field_id":{{{EmulatorSeed.SiteFieldId}}},"value":"mysite.uz/kontakt"}]},
             "contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var fields = FieldsById(LeadOf(amo));
        Assert.Equal(Unix(new DateTime(2024, 5, 31)), fields[EmulatorSeed.VisitDateFieldId][0]!["value"]!.GetValue<long>());
        Assert.Equal(Unix(new DateTime(2024, 5, 31, 14, 30, 0)), fields[EmulatorSeed.CallAtFieldId][0]!["value"]!.GetValue<long>());
        Assert.Equal(Unix(new DateTime(1990, 5, 31)), fields[EmulatorSeed.BirthdayFieldId][0]!["value"]!.GetValue<long>());
        Assert.Equal(JsonValueKind.True, fields[EmulatorSeed.AgreedFieldId][0]!["value"]!.GetValueKind());
        Assert.Equal(1500.50m, fields[EmulatorSeed.BudgetFieldId][0]!["value"]!.GetValue<decimal>());
        ApiAssert.SameJson($$$"""[{"enum_id":{{{EmulatorSeed.ChannelWebsiteEnumId}}}}]""", fields[EmulatorSeed.ChannelFieldId]);
        ApiAssert.SameJson($$$"""[{"enum_id":{{{EmulatorSeed.InterestsPricingEnumId}}}},{"enum_id":{{{EmulatorSeed.InterestsSupportEnumId}}}}]""", fields[EmulatorSeed.InterestsFieldId]);
        ApiAssert.SameJson($$$"""[{"enum_id":{{{EmulatorSeed.UrgencyHighEnumId}}}}]""", fields[EmulatorSeed.UrgencyFieldId]);
        Assert.Equal("http://mysite.uz/kontakt", fields[EmulatorSeed.SiteFieldId][0]!["value"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("\"1717113600\"", 1717113600L)]
    [InlineData("1717113600", 1717113600L)]
    [InlineData("1717113600000", 1717113600L)]
    [InlineData("\"2024-05-31T14:30:00+05:00\"", 1717147800L)]
    [InlineData("\"2024-05-31T09:30:00Z\"", 1717147800L)]
    public async Task A_date_that_names_its_instant_is_sent_as_that_instant_wherever_the_account_is(string value, long seconds)
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":{{{EmulatorSeed.CallAtFieldId}}},"value":{{{value}}}}]},"contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(seconds, FieldsById(LeadOf(amo))[EmulatorSeed.CallAtFieldId][0]!["value"]!.GetValue<long>());
        Assert.DoesNotContain(amo.State.Requests, r => r.Path == "/api/v4/account");
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("1", true)]
    [InlineData("0", false)]
    [InlineData("\"on\"", true)]
    [InlineData("\"Да\"", true)]
    [InlineData("\"нет\"", false)]
    [InlineData("\"ha\"", true)]
    [InlineData("\"yo'q\"", false)]
    [InlineData("\"No\"", false)]
    public async Task A_checkbox_takes_the_words_people_use_for_yes_and_no(string value, bool expected)
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":{{{EmulatorSeed.AgreedFieldId}}},"value":{{{value}}}}]},"contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, FieldsById(LeadOf(amo))[EmulatorSeed.AgreedFieldId][0]!["value"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("1,500.50", "1500.50")]
    [InlineData("1.500,50", "1500.50")]
    [InlineData("1 500 000", "1500000")]
    [InlineData("1,5", "1.5")]
    [InlineData("-20", "-20")]
    public async Task A_number_is_read_with_either_decimal_mark_and_any_grouping(string value, string expected)
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":{{{EmulatorSeed.BudgetFieldId}}},"value":"{{{value}}}"}]},"contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), FieldsById(LeadOf(amo))[EmulatorSeed.BudgetFieldId][0]!["value"]!.GetValue<decimal>());
    }

    [Theory]
    [InlineData("VisitDate", "\"31/31/2024\"", "Visit date")]
    [InlineData("VisitDate", "\"tomorrow\"", "Visit date")]
    [InlineData("Agreed", "\"maybe\"", "Agreed to terms")]
    [InlineData("Budget", "\"a lot\"", "Budget")]
    [InlineData("Site", "\"not a url\"", "Site")]
    public async Task A_value_that_cannot_be_made_valid_for_its_field_is_a_422_naming_the_field_and_nothing_is_stored_or_sent(string field, string value, string name)
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);
        var fieldId = field switch
        {
            "VisitDate" => EmulatorSeed.VisitDateFieldId,
            "Agreed" => EmulatorSeed.AgreedFieldId,
            "Budget" => EmulatorSeed.BudgetFieldId,
            _ => EmulatorSeed.SiteFieldId,
        };

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":{{{EmulatorSeed.ProductFieldId}}},"value":"ok"},{"field_id":{{{fieldId}}},"value":{{{value}}}}]},"contact":{"phone":"+998901234567"}}
            """);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.UnprocessableEntity, "Validation failed");
        var problem = Assert.Single(details!).Key;
        Assert.Equal("lead.custom_fields.1", problem);
        Assert.StartsWith(name + " ", (string?)details![problem], StringComparison.Ordinal);
        await AssertNothingStoredOrSentAsync(client, amo);
    }

    [Fact]
    public async Task An_unknown_option_is_a_422_that_lists_the_fields_valid_options()
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":{{{EmulatorSeed.ChannelFieldId}}},"value":"Facebook"}]},"contact":{"phone":"+998901234567"}}
            """);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.UnprocessableEntity, "Validation failed");
        Assert.Equal("Channel has no such option; valid: Instagram, Telegram, Website", (string?)details!["lead.custom_fields.0"]);
        await AssertNothingStoredOrSentAsync(client, amo);
    }

    [Theory]
    [InlineData("field_id", "999")]
    [InlineData("field_code", "\"NO_SUCH_CODE\"")]
    [InlineData("field_code", "\"PRODUCT_TYPE\"")]
    [InlineData("field_name", "\"Yo'q maydon\"")]
    public async Task An_unknown_field_is_a_422_at_intake_instead_of_a_dead_letter_at_delivery(string by, string value)
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"{{{by}}}":{{{value}}},"value":"x"}]},"contact":{"phone":"+998901234567"}}
            """);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.UnprocessableEntity, "Validation failed");
        Assert.StartsWith("This account has no field", (string?)details!["lead.custom_fields.0"], StringComparison.Ordinal);
        await AssertNothingStoredOrSentAsync(client, amo);
    }

    [Fact]
    public async Task A_field_and_its_option_can_be_named_by_their_text_in_any_case()
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_name":"mahsulot TURI","value":"premium"},{"field_name":"Visit Date","value":"01.06.2024"}]},
             "contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var fields = FieldsById(LeadOf(amo));
        ApiAssert.SameJson($$$"""[{"enum_id":{{{EmulatorSeed.ProductKindPremiumEnumId}}}}]""", fields[EmulatorSeed.ProductKindFieldId]);
        Assert.Equal(Unix(new DateTime(2024, 6, 1)), fields[EmulatorSeed.VisitDateFieldId][0]!["value"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_field_name_two_fields_share_is_a_422_naming_both()
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_name":"{{{EmulatorSeed.AmbiguousFieldName}}}","value":"Instagram"}]},"contact":{"phone":"+998901234567"}}
            """);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.UnprocessableEntity, "Validation failed");
        Assert.Equal(
            $"2 fields are named {EmulatorSeed.AmbiguousFieldName} (ids {EmulatorSeed.FirstAmbiguousFieldId}, {EmulatorSeed.SecondAmbiguousFieldId}): give field_id instead",
            (string?)details!["lead.custom_fields.0"]);
        await AssertNothingStoredOrSentAsync(client, amo);
    }

    [Fact]
    public async Task Contact_custom_fields_are_resolved_and_typed_the_same_way()
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);

        var response = await client.PostLeadAsync("""
            {"lead":{"name":"Yangi mijoz"},
             "contact":{"name":"Alisher","phone":"+998901234567","custom_fields":[{"field_name":"til","value":"русский"},{"field_name":"Tug'ilgan kun","value":"31.05.1990"},{"field_code":"position","value":"Direktor"}]}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var contact = Assert.Single(amo.State.Unsorted).Item["_embedded"]!["contacts"]![0]!.AsObject();
        var fields = FieldsById(contact);
        ApiAssert.SameJson($$$"""[{"enum_id":{{{EmulatorSeed.LanguageRussianEnumId}}}}]""", fields[EmulatorSeed.LanguageFieldId]);
        Assert.Equal(Unix(new DateTime(1990, 5, 31)), fields[EmulatorSeed.ContactBirthdayFieldId][0]!["value"]!.GetValue<long>());
        var position = contact["custom_fields_values"]!.AsArray().Single(f => (string?)f!["field_code"] == "POSITION")!;
        Assert.Equal("Direktor", position["values"]![0]!["value"]!.GetValue<string>());

        var wrong = await client.PostLeadAsync("""{"lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567","custom_fields":[{"field_name":"Til","value":"Deutsch"}]}}""");
        var details = await ApiAssert.FailureAsync(wrong, HttpStatusCode.UnprocessableEntity, "Validation failed");
        Assert.Equal("Til has no such option; valid: O'zbekcha, Русский, English", (string?)details!["contact.custom_fields.0"]);
    }

    [Fact]
    public async Task A_lead_taken_while_amoCRM_was_out_of_reach_is_delivered_with_what_is_valid_and_the_rest_in_its_note()
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);
        amo.State.Outage = true;

        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1, $$$"""
            ,"custom_fields":[{"field_id":{{{EmulatorSeed.VisitDateFieldId}}},"value":"31.05.2024"},{"field_id":{{{EmulatorSeed.ChannelFieldId}}},"value":"Facebook"},{"field_name":"Qayerdan bildingiz","value":"Do'stimdan"}]
            """));
        amo.State.Outage = false;

        await account.Clock.AdvanceUntilAsync(TimeSpan.FromSeconds(30), () => client.AllDeliveredAsync([id]), "the lead delivered");
        var fields = FieldsById(LeadOf(amo));
        Assert.Equal(Unix(new DateTime(2024, 5, 31)), fields[EmulatorSeed.VisitDateFieldId][0]!["value"]!.GetValue<long>());
        Assert.Single(fields);
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal("Not sent as fields, as written:\nChannel: Facebook\nQayerdan bildingiz: Do'stimdan", note.Text);
    }

    [Fact]
    public async Task A_400_amoCRM_keys_some_other_way_still_reaches_the_caller_with_its_validation_errors()
    {
        await using var account = await ConnectedAccount.StartAsync();
        var (amo, client) = (account.Amo, account.Client);
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400,
            """{"validation-errors":[{"request_id":"0","errors":[{"code":"InvalidType","path":"_embedded.leads.0.custom_fields_values.0.values.0.value","detail":"This value should be of type date."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}""",
            "application/problem+json");

        var response = await client.PostLeadAsync(OutboxTestKit.Lead(1));

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.BadRequest, "Failed to create lead in AmoCRM");
        Assert.Equal("InvalidType", (string?)details!["validation_errors"]![0]!["errors"]![0]!["code"]);
        var stored = await client.LeadAsync(details["id"]!.GetValue<long>());
        Assert.Equal("InvalidType", (string?)stored["last_error"]!["validation_errors"]![0]!["errors"]![0]!["code"]);
    }

    // An authorized gateway on the emulated account, with a keyed client and the test's own clock.
    private sealed class ConnectedAccount : IAsyncDisposable
    {
        private ConnectedAccount(TestTimeProvider clock, AmoEmulator amo, GatewayApp app)
        {
            (Clock, Amo, App) = (clock, amo, app);
            Client = app.CreateKeyedClient();
        }

        public TestTimeProvider Clock { get; }

        public AmoEmulator Amo { get; }

        public GatewayApp App { get; }

        public HttpClient Client { get; }

        public static async Task<ConnectedAccount> StartAsync()
        {
            var clock = new TestTimeProvider();
            var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
            var app = new GatewayApp(amo, clock);
            await app.AuthorizeAsync();
            return new ConnectedAccount(clock, amo, app);
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.DisposeAsync();
            await Amo.DisposeAsync();
        }
    }

    private static long Unix(DateTime wallClock) => new DateTimeOffset(wallClock, AccountZone.GetUtcOffset(wallClock)).ToUnixTimeSeconds();

    private static async Task AssertNothingStoredOrSentAsync(HttpClient client, AmoEmulator amo)
    {
        var listed = await ApiAssert.SuccessDataAsync(await client.GetAsync("/api/v1/leads"));
        Assert.Empty(listed["leads"]!.AsArray());
        Assert.DoesNotContain(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms");
    }

    private static JsonObject LeadOf(AmoEmulator amo) =>
        Assert.Single(Assert.Single(amo.State.Unsorted).Item["_embedded"]!["leads"]!.AsArray())!.AsObject();

    private static Dictionary<long, JsonArray> FieldsById(JsonObject entity) =>
        entity["custom_fields_values"]!.AsArray()
            .Where(f => f!["field_id"] is not null)
            .ToDictionary(f => f!["field_id"]!.GetValue<long>(), f => f!["values"]!.AsArray());
}
