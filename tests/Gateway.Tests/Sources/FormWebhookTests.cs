using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Sources;

// Issue 16: form builders post straight to /hooks/{tool}/{key}; what they send becomes the lead amoCRM gets.
public sealed class FormWebhookTests
{
    private static string Hook(string tool, string key = GatewayApp.ApiKey) => $"/hooks/{tool}/{key}";

    private static string Id(long id) => id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<GatewayApp> StartAsync(AmoEmulator amo, IDictionary<string, string?>? settings = null, string? dataDir = null)
    {
        var app = new GatewayApp(amo, dataDir: dataDir, settings: settings);
        await app.AuthorizeAsync();
        return app;
    }

    private static JsonObject ContactOf(UnsortedRecord item) => Assert.Single(item.Item["_embedded"]!["contacts"]!.AsArray())!.AsObject();

    private static string? Phone(JsonObject contact) =>
        contact["custom_fields_values"]?.AsArray().FirstOrDefault(f => f!["field_code"]?.GetValue<string>() == "PHONE")?["values"]![0]!["value"]!.GetValue<string>();

    private static Dictionary<long, string> LeadFields(UnsortedRecord item) =>
        (item.Item["_embedded"]!["leads"]![0]!["custom_fields_values"]?.AsArray() ?? [])
            .ToDictionary(f => f!["field_id"]!.GetValue<long>(), f => f!["values"]!.ToJsonString());

    [Fact]
    public async Task Tildas_connection_check_is_answered_ok_and_stores_nothing()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var tilda = app.CreateAnonymousClient();

        var response = await tilda.PostAsync(Hook("tilda"), FormSamples.Form(FormSamples.TildaHandshake));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        using var admin = app.CreateKeyedClient();
        var list = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions"));
        Assert.Empty(list["submissions"]!.AsArray());
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_Tilda_form_in_Uzbek_reaches_amoCRM_with_the_contact_the_phone_in_E164_utm_from_the_cookie_and_the_rest_in_the_note()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var tilda = app.CreateAnonymousClient();

        var response = await tilda.PostAsync(Hook("tilda"), FormSamples.Form(FormSamples.TildaUzbek));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        Assert.Equal("Tilda: Aziz Karimov", item.Item["_embedded"]!["leads"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("Tilda", item.Item["source_name"]!.GetValue<string>());
        Assert.Equal("form789112233", item.Item["metadata"]!["form_id"]!.GetValue<string>());
        Assert.Equal("Tilda form789112233", item.Item["metadata"]!["form_name"]!.GetValue<string>());
        var contact = ContactOf(item);
        Assert.Equal("Aziz Karimov", contact["name"]!.GetValue<string>());
        Assert.Equal("+998901112233", Phone(contact));
        var fields = LeadFields(item);
        Assert.Equal("""[{"value":"instagram"}]""", fields[EmulatorSeed.UtmSourceFieldId]);
        Assert.Equal("""[{"value":"cpc"}]""", fields[EmulatorSeed.UtmMediumFieldId]);
        Assert.Equal("""[{"value":"bahor"}]""", fields[EmulatorSeed.UtmCampaignFieldId]);
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal("Divan kerak, qo'ng'iroq qiling\n\nShahar: Toshkent\nQiziqish: Divan; Kreslo", note.Text);
    }

    [Fact]
    public async Task A_Tilda_form_with_Russian_field_names_maps_them_and_reads_a_phone_typed_with_the_trunk_8()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var tilda = app.CreateAnonymousClient();

        var response = await tilda.PostAsync(Hook("tilda"), FormSamples.Form(FormSamples.TildaCyrillic));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        var contact = ContactOf(item);
        Assert.Equal("Иван Петров", contact["name"]!.GetValue<string>());
        Assert.Equal("+998901112233", Phone(contact));
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal("Перезвоните после 18:00\n\nГород: Ташкент", note.Text);
    }

    [Fact]
    public async Task The_same_tranid_sent_twice_as_Tilda_retries_makes_one_lead()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var tilda = app.CreateAnonymousClient();

        foreach (var _ in new[] { 1, 2 })
        {
            var response = await tilda.PostAsync(Hook("tilda"), FormSamples.Form(FormSamples.TildaUzbek));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        }

        await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        using var admin = app.CreateKeyedClient();
        var list = (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/leads")))["leads"]!.AsArray();
        Assert.Single(list);
        await Eventually.TrueAsync(async () => (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions?status=accepted")))["submissions"]!.AsArray().Count == 2, "both submissions recorded");
        var submissions = (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions")))["submissions"]!.AsArray();
        Assert.Equal(2, submissions.Count);
        Assert.All(submissions, s => Assert.Equal(list[0]!["id"]!.GetValue<long>(), s!["lead_id"]!.GetValue<long>()));
        Assert.Single(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_Tilda_shop_order_sets_the_price_and_lists_the_products_in_the_note()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var tilda = app.CreateAnonymousClient();

        var response = await tilda.PostAsync(Hook("tilda"), FormSamples.Form(FormSamples.TildaShop));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        Assert.Equal(1500000, item.Item["_embedded"]!["leads"]![0]!["price"]!.GetValue<long>());
        var contact = ContactOf(item);
        Assert.Equal("Malika", contact["name"]!.GetValue<string>());
        Assert.Equal("+998901112233", Phone(contact));
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal("Order 1234567890:\n- Divan Chester x 1\n- Kreslo x 2\namount: 1500000\ndelivery: Yetkazib berish\ndelivery_price: 0", note.Text);
    }

    [Fact]
    public async Task Elementors_advanced_data_maps_fields_by_type_and_its_meta_fills_the_page_and_the_visitors_address()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var elementor = app.CreateAnonymousClient();

        var response = await elementor.PostAsync(Hook("elementor"), FormSamples.Form(FormSamples.ElementorAdvanced));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        var metadata = item.Item["metadata"]!.AsObject();
        Assert.Equal("Bog'lanish", metadata["form_name"]!.GetValue<string>());
        Assert.Equal("a1b2c3d", metadata["form_id"]!.GetValue<string>());
        Assert.Equal("https://mebel.uz/aloqa/", metadata["form_page"]!.GetValue<string>());
        Assert.Equal("198.51.100.23", metadata["ip"]!.GetValue<string>());
        var contact = ContactOf(item);
        Assert.Equal("Dilshod", contact["name"]!.GetValue<string>());
        Assert.Equal("+998935554433", Phone(contact));
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal("Xizmat: Dizayn\nDate: December 1, 2026", note.Text);
    }

    [Fact]
    public async Task Elementors_simple_mode_maps_the_fields_by_their_labels_and_answers_exactly_200()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var elementor = app.CreateAnonymousClient();

        var response = await elementor.PostAsync(Hook("elementor"), FormSamples.Form(FormSamples.ElementorSimple));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        Assert.Equal("Aloqa", item.Item["metadata"]!["form_name"]!.GetValue<string>());
        var contact = ContactOf(item);
        Assert.Equal("Jasur", contact["name"]!.GetValue<string>());
        Assert.Equal("+998971234567", Phone(contact));
        Assert.Equal("Narxlar kerak", (await Eventually.SingleAsync(() => amo.State.Notes, "the note")).Text);
    }

    [Fact]
    public async Task Contact_Form_7_json_maps_its_tag_names_with_the_key_in_the_X_API_KEY_header()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var cf7 = app.CreateKeyedClient();

        var response = await cf7.PostAsync("/hooks/cf7", FormSamples.Json(FormSamples.Cf7));

        var data = await ApiAssert.SuccessDataAsync(response);
        Assert.Equal("accepted", data["status"]!.GetValue<string>());
        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        var contact = ContactOf(item);
        Assert.Equal("Nodira", contact["name"]!.GetValue<string>());
        Assert.Equal("+998998765432", Phone(contact));
        Assert.Equal("Contact Form 7", item.Item["source_name"]!.GetValue<string>());
        Assert.Equal("Ulgurji narxlar qanday?\n\nyour-subject: Hamkorlik", (await Eventually.SingleAsync(() => amo.State.Notes, "the note")).Text);
    }

    [Fact]
    public async Task A_plain_multipart_form_maps_like_any_other()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var site = app.CreateAnonymousClient();
        using var form = new MultipartFormDataContent("----gatewayboundary7MA4YWxk")
        {
            { new StringContent("Shahzod"), "name" },
            { new StringContent("+998 90 765 43 21"), "phone" },
            { new StringContent("Oshxona"), "mebel_turi" },
        };

        var response = await site.PostAsync(Hook("form"), form);

        await ApiAssert.SuccessDataAsync(response);
        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        Assert.Equal("+998907654321", Phone(ContactOf(item)));
        Assert.Equal("mebel_turi: Oshxona", (await Eventually.SingleAsync(() => amo.State.Notes, "the note")).Text);
    }

    [Fact]
    public async Task A_wrong_key_in_the_path_is_401_and_counts_toward_the_bad_key_brake()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo, new Dictionary<string, string?> { ["BAD_KEY_LIMIT"] = "3" });
        using var tilda = app.CreateAnonymousClient();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await tilda.PostAsync(Hook("tilda", "wrong-key-" + i), FormSamples.Form(FormSamples.TildaUzbek))).StatusCode);
        }

        // Blocked now: even the right key is refused for a while.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await tilda.PostAsync(Hook("tilda"), FormSamples.Form(FormSamples.TildaUzbek))).StatusCode);
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_key_without_the_leads_scope_is_403()
    {
        const string ReaderKey = "reader-key-eeeeeeeeeeeeeeee";
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("reader", ReaderKey, """ "scopes":["read"] """));
        await using var app = await StartAsync(amo, dataDir: dir);
        using var tilda = app.CreateAnonymousClient();

        var response = await tilda.PostAsync(Hook("tilda", ReaderKey), FormSamples.Form(FormSamples.TildaUzbek));

        await ApiAssert.FailureAsync(response, HttpStatusCode.Forbidden, "Forbidden: this needs the \"leads\" scope");
    }

    [Fact]
    public async Task The_key_in_the_path_is_in_no_log_line_no_span_and_no_metric()
    {
        const string SiteKey = "tilda-key-ffffffffffffffffff";
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("tilda-site", SiteKey));
        var spans = new Spans();
        await using var app = new GatewayApp(amo, dataDir: dir) { TestServices = spans.AddTo };
        await app.AuthorizeAsync();
        using var tilda = app.CreateAnonymousClient();

        Assert.Equal(HttpStatusCode.OK, (await tilda.PostAsync(Hook("tilda", SiteKey), FormSamples.Form(FormSamples.TildaHandshake))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tilda.PostAsync(Hook("tilda", SiteKey), FormSamples.Form(FormSamples.TildaUzbek))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tilda.PostAsync(Hook("elementor", SiteKey) + "/", FormSamples.Form("garbage=%FF"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tilda.PostAsync(Hook("tilda", SiteKey + "x"), FormSamples.Form(FormSamples.TildaUzbek))).StatusCode);
        await Eventually.SingleAsync(() => amo.State.Notes, "the note");

        using var admin = app.CreateKeyedClient();
        var metrics = await (await admin.GetAsync("/metrics")).Content.ReadAsStringAsync();
        Assert.Contains("/hooks/tilda", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(SiteKey, metrics, StringComparison.Ordinal);
        Assert.Contains(app.Logs.Lines, l => l.Message.Contains("/hooks/tilda", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Message.Contains(SiteKey, StringComparison.Ordinal));
        var hookSpans = spans.All.Where(s => Spans.TextOf(s).Any(t => t.Contains("/hooks/", StringComparison.Ordinal))).ToList();
        Assert.NotEmpty(hookSpans);
        Assert.DoesNotContain(spans.All.SelectMany(Spans.TextOf), t => t.Contains(SiteKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_submission_with_no_contact_is_kept_as_rejected_Tilda_still_hears_ok_and_a_replay_after_the_profile_is_fixed_makes_the_lead()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        await using var app = await StartAsync(amo, dataDir: dir);
        using var tilda = app.CreateAnonymousClient();

        var response = await tilda.PostAsync(Hook("tilda"), FormSamples.Form("Mijoz=Sardor&Aloqa=%2B998+90+222+33+44&tranid=467251%3A8442999&formid=form555"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        using var admin = app.CreateKeyedClient();
        var rejected = Assert.Single((await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions?status=rejected")))["submissions"]!.AsArray())!;
        Assert.Equal("tilda", rejected["source"]!.GetValue<string>());
        Assert.Equal("form555", rejected["form"]!.GetValue<string>());
        Assert.Contains("contact", rejected["problem"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(rejected["fields"]!.AsArray(), f => f!["label"]!.GetValue<string>() == "Aloqa" && f["value"]!.GetValue<string>() == "+998 90 222 33 44");
        Assert.Empty(amo.State.Unsorted);

        await File.WriteAllTextAsync(Path.Combine(dir, "sources.json"), """
            {"profiles": [{"source": "tilda", "form": "form555", "fields": {"Mijoz": "contact.name", "Aloqa": "contact.phone"}}]}
            """);
        var id = rejected["id"]!.GetValue<long>();
        await Eventually.TrueAsync(async () => (await admin.PostAsync($"/api/v1/admin/submissions/{Id(id)}/replay", null)).StatusCode == HttpStatusCode.OK, "the replay with the new profile");

        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        Assert.Equal("Sardor", ContactOf(item)["name"]!.GetValue<string>());
        Assert.Equal("+998902223344", Phone(ContactOf(item)));
        Assert.Empty((await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions?status=rejected")))["submissions"]!.AsArray());
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync($"/api/v1/admin/submissions/{Id(id)}/replay", null)).StatusCode);
    }

    [Fact]
    public async Task A_CF7_submission_that_cannot_be_a_lead_is_a_422_and_is_kept_as_rejected()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var cf7 = app.CreateAnonymousClient();

        var response = await cf7.PostAsync(Hook("cf7"), FormSamples.Json("""{"your-subject":"Salom"}"""));

        var details = await ApiAssert.FailureAsync(response, (HttpStatusCode)422, "Submission stored as rejected: it cannot be made into a lead");
        Assert.True(details!["submission_id"]!.GetValue<long>() > 0);
        Assert.NotNull(details["problems"]!["contact"]);
        using var admin = app.CreateKeyedClient();
        Assert.Single((await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions?status=rejected")))["submissions"]!.AsArray());
    }

    [Theory]
    [InlineData("tilda", HttpStatusCode.OK)]
    [InlineData("elementor", HttpStatusCode.OK)]
    [InlineData("form", (HttpStatusCode)422)]
    public async Task A_body_that_is_not_UTF_8_is_kept_as_rejected_and_answered_the_way_the_tool_needs(string tool, HttpStatusCode expected)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var client = app.CreateAnonymousClient();
        // "Имя=Иван" in windows-1251.
        var body = new byte[] { 0xC8, 0xEC, 0xFF, (byte)'=', 0xC8, 0xE2, 0xE0, 0xED };

        var response = await client.PostAsync(Hook(tool), FormSamples.Bytes(body, "application/x-www-form-urlencoded"));

        Assert.Equal(expected, response.StatusCode);
        using var admin = app.CreateKeyedClient();
        var rejected = Assert.Single((await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions?status=rejected")))["submissions"]!.AsArray())!;
        Assert.Contains("UTF-8", rejected["problem"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(rejected["body"]);
    }

    [Theory]
    [InlineData("application/json", "[1,2,3]")]
    [InlineData("application/json", "{\"a\":")]
    [InlineData("application/xml", "<a/>")]
    [InlineData("multipart/form-data; boundary=x", "--x\r\nbroken")]
    public async Task Garbage_to_a_plain_form_hook_is_a_422_never_a_500(string contentType, string body)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var client = app.CreateAnonymousClient();

        var response = await client.PostAsync(Hook("form"), FormSamples.Bytes(Encoding.UTF8.GetBytes(body), contentType));

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
    }

    [Fact]
    public async Task A_body_over_MAX_BODY_BYTES_is_413()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo, new Dictionary<string, string?> { ["MAX_BODY_BYTES"] = "2048" });
        using var client = app.CreateAnonymousClient();

        var response = await client.PostAsync(Hook("tilda"), FormSamples.Form("Name=A&Phone=901112233&Izoh=" + new string('x', 3000)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Five_hundred_fields_and_arrays_in_odd_places_all_reach_the_note()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = await StartAsync(amo);
        using var client = app.CreateAnonymousClient();
        var body = "Name=Olim&Phone=%2B998901112233&odd%5Ba%5D%5B%5D=1&odd%5Ba%5D%5B%5D=2&" + string.Join("&", Enumerable.Range(1, 500).Select(i => $"f{i}=v{i}"));

        var response = await client.PostAsync(Hook("form"), FormSamples.Form(body));

        await ApiAssert.SuccessDataAsync(response);
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Contains("odd[a]: 1; 2", note.Text, StringComparison.Ordinal);
        Assert.Contains("f1: v1\n", note.Text, StringComparison.Ordinal);
        Assert.EndsWith("f500: v500", note.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_profile_maps_a_field_by_its_amoCRM_name_and_option_text_a_tag_a_price_and_names_the_lead()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "sources.json"), $$"""
            {
              "profiles": [
                {
                  "source": "tilda",
                  "form": "form789112233",
                  "lead_name": "Saytdan: {Ism} ({Shahar})",
                  "fields": {
                    "Qiziqish": "lead.field:{{EmulatorSeed.ProductKindFieldName}}",
                    "Shahar": "tag",
                    "Byudjet": "lead.price"
                  },
                  "defaults": {"pipeline_id": {{EmulatorSeed.SecondPipelineId}}, "source": "Mebel sayti", "tags": ["tilda"]}
                }
              ]
            }
            """);
        await using var app = await StartAsync(amo, dataDir: dir);
        using var tilda = app.CreateAnonymousClient();

        var response = await tilda.PostAsync(Hook("tilda"), FormSamples.Form("Ism=Aziz&Telefon=901112233&Shahar=Samarqand&Qiziqish=Premium&Byudjet=2+000+000&tranid=1%3A2&formid=form789112233"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        var lead = item.Item["_embedded"]!["leads"]![0]!;
        Assert.Equal("Saytdan: Aziz (Samarqand)", lead["name"]!.GetValue<string>());
        Assert.Equal(2000000, lead["price"]!.GetValue<long>());
        Assert.Equal("Mebel sayti", item.Item["source_name"]!.GetValue<string>());
        Assert.Equal(EmulatorSeed.SecondPipelineId, item.Item["pipeline_id"]!.GetValue<long>());
        Assert.Equal(["Samarqand", "tilda"], lead["_embedded"]!["tags"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
        Assert.Equal($$"""[{"enum_id":{{EmulatorSeed.ProductKindPremiumEnumId}}}]""", LeadFields(item)[EmulatorSeed.ProductKindFieldId]);
        Assert.Empty(amo.State.Notes);
    }

    [Fact]
    public async Task A_bad_SOURCES_FILE_stops_start_up_with_one_line_naming_it()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "sources.json"), """{"profiles":[{"source":"tilda","fields":{"Ism":"contact.nickname"}}]}""");
        await using var app = new GatewayApp(amo, dataDir: dir);

        var failure = Assert.ThrowsAny<Exception>(() => app.CreateAnonymousClient());

        Assert.Contains("SOURCES_FILE", failure.ToString(), StringComparison.Ordinal);
        Assert.Contains("profiles[0].fields.Ism", failure.ToString(), StringComparison.Ordinal);
    }
}
