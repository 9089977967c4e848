using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Leads;

// amoCRM refuses values over 256 characters for the whole item: the gateway cuts them and puts the whole text in the note.
public sealed class LeadLimitTests
{
    [Fact]
    public async Task A_lead_with_a_long_text_field_utm_content_and_referer_is_delivered_cut_to_256_with_the_full_texts_in_its_note()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var text = Words("mijoz", 1000);
        var utmContent = Words("banner", 600);
        var referer = "https://example.uz/landing?q=" + new string('x', 871);

        var body = new JsonObject
        {
            ["referer"] = referer,
            ["lead"] = new JsonObject
            {
                ["name"] = "Yangi mijoz",
                ["custom_fields"] = new JsonArray(new JsonObject { ["field_id"] = EmulatorSeed.ProductFieldId, ["value"] = text }),
            },
            ["contact"] = new JsonObject { ["phone"] = "+998901234567" },
            ["utm"] = new JsonObject { ["utm_source"] = "google", ["utm_content"] = utmContent },
            ["comment"] = "Mijoz qo'ng'iroq qilishni so'radi",
        };
        var response = await client.PostLeadAsync(body.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = Assert.Single(amo.State.Unsorted).Item;
        Assert.All(Strings(item), s => Assert.True(s.Length <= 256, $"{s.Length} characters reached amoCRM"));
        var lead = item["_embedded"]!["leads"]![0]!;
        var sentText = ValueOf(lead, EmulatorSeed.ProductFieldId);
        var sentUtm = ValueOf(lead, EmulatorSeed.UtmContentFieldId);
        var sentReferer = item["metadata"]!["referer"]!.GetValue<string>();
        foreach (var (sent, full) in new[] { (sentText, text), (sentUtm, utmContent), (sentReferer, referer) })
        {
            Assert.EndsWith("…", sent, StringComparison.Ordinal);
            Assert.StartsWith(sent[..^1], full, StringComparison.Ordinal);
            Assert.True(sent.Length >= 256 - 40, $"cut too early: {sent.Length}");
        }

        Assert.Equal(' ', text[sentText.Length - 1]);
        Assert.Equal(256, sentReferer.Length);
        Assert.Equal("google", ValueOf(lead, EmulatorSeed.UtmSourceFieldId));

        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal(Assert.Single(amo.State.Unsorted).LeadId, note.EntityId);
        Assert.StartsWith("Mijoz qo'ng'iroq qilishni so'radi\n\n", note.Text, StringComparison.Ordinal);
        Assert.Contains($"\nProduct: {text}", note.Text, StringComparison.Ordinal);
        Assert.Contains($"\nutm_content: {utmContent}", note.Text, StringComparison.Ordinal);
        Assert.Contains($"\nreferer: {referer}", note.Text, StringComparison.Ordinal);
        Assert.Equal(3, note.Text!.Split('\n').Count(line => line.StartsWith("Product: ", StringComparison.Ordinal) || line.StartsWith("utm_content: ", StringComparison.Ordinal) || line.StartsWith("referer: ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_long_value_given_by_field_code_in_amoCRMs_values_shape_is_cut_and_labelled_with_the_fields_name()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var referrer = "https://ref.example.uz/" + new string('r', 400);

        var response = await client.PostLeadAsync($$$"""
            {"lead":{"name":"Yangi mijoz","custom_fields":[{"field_code":"UTM_REFERRER","values":[{"value":"{{{referrer}}}"}]}]},
             "contact":{"phone":"+998901234567"}}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(amo.State.Unsorted).Item["_embedded"]!["leads"]![0]!["custom_fields_values"]![0]!["values"]![0]!["value"]!.GetValue<string>();
        Assert.Equal(referrer[..255] + "…", sent);
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal($"Cut to fit amoCRM, in full:\nutm_referrer: {referrer}", note.Text);
    }

    [Fact]
    public async Task A_lead_with_nothing_too_long_sends_its_values_as_they_are_and_the_note_is_only_the_comment()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var text = Words("mijoz", 256);
        var referer = "https://example.uz/" + new string('x', 237);

        var response = await client.PostLeadAsync($$$"""
            {"referer":"{{{referer}}}","lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":{{{EmulatorSeed.ProductFieldId}}},"value":"{{{text}}}"}]},
             "contact":{"phone":"+998901234567"},"utm":{"utm_content":"{{{text}}}"},"comment":"Mijoz mahsulot haqida so'radi"}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = Assert.Single(amo.State.Unsorted).Item;
        var lead = item["_embedded"]!["leads"]![0]!;
        Assert.Equal(text, ValueOf(lead, EmulatorSeed.ProductFieldId));
        Assert.Equal(text, ValueOf(lead, EmulatorSeed.UtmContentFieldId));
        Assert.Equal(referer, item["metadata"]!["referer"]!.GetValue<string>());
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal("Mijoz mahsulot haqida so'radi", note.Text);
    }

    // Words of varying length separated by spaces, exactly `length` characters long.
    private static string Words(string stem, int length)
    {
        var text = new System.Text.StringBuilder();
        for (var i = 0; text.Length < length; i++)
        {
            text.Append(stem).Append(i % 7 == 0 ? "lar" : "").Append(i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
        }

        return text.ToString(0, length - 1) + ".";
    }

    private static string ValueOf(JsonNode lead, long fieldId) =>
        lead["custom_fields_values"]!.AsArray().Single(f => f!["field_id"]!.GetValue<long>() == fieldId)!["values"]![0]!["value"]!.GetValue<string>();

    private static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(p => Strings(p.Value)),
        JsonArray a => a.SelectMany(Strings),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => [v.GetValue<string>()],
        _ => [],
    };
}
