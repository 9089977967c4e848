using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Leads;

public sealed class LeadValidationTests
{
    private const string Phone = "\"contact\":{\"phone\":\"+998901234567\"}";

    [Theory]
    [InlineData("{" + Phone + "}", """{"lead":"Lead object is required"}""")]
    [InlineData("""{"lead":{"name":""},""" + Phone + "}", """{"lead.name":"Lead name is required"}""")]
    [InlineData("""{"lead":{"name":"   "},""" + Phone + "}", """{"lead.name":"Lead name is required"}""")]
    [InlineData("""{"lead":{},""" + Phone + "}", """{"lead.name":"Lead name is required"}""")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"}}""", """{"contact":"Contact object is required"}""")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"},"contact":{}}""", """{"contact":"At least one contact field (name, phone, email) is required"}""")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"},"contact":{"name":"","phone":"","email":""}}""", """{"contact":"At least one contact field (name, phone, email) is required"}""")]
    [InlineData("{}", """{"lead":"Lead object is required","contact":"Contact object is required"}""")]
    public async Task A_lead_missing_what_the_old_gateway_required_is_answered_422_with_its_keys_and_texts(string json, string details)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync(json);

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.UnprocessableEntity);
        ApiAssert.SameJson($$"""{"success":false,"error":"Validation failed","details":{{details}}}""", body);
        Assert.Empty(amo.State.Requests);
        Assert.Empty(amo.State.Unsorted);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n ")]
    public async Task An_empty_body_is_answered_422_body_is_required(string json)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync(json);

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.UnprocessableEntity);
        ApiAssert.SameJson("""{"success":false,"error":"Validation failed","details":{"body":"Request body is required"}}""", body);
        Assert.Empty(amo.State.Requests);
    }

    [Theory]
    [InlineData("{bad")]
    [InlineData("""{"lead":{"name":"x"},""")]
    [InlineData("""{"lead":{"name":'x'}}""")]
    public async Task A_body_that_is_not_json_is_answered_400_invalid_json_with_the_parser_error(string json)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync(json);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.BadRequest, "Invalid JSON");
        Assert.NotNull(details);
        Assert.Equal(["json_error"], details.Select(p => p.Key));
        Assert.False(string.IsNullOrWhiteSpace(details["json_error"]!.GetValue<string>()));
        Assert.Empty(amo.State.Requests);
    }

    [Theory]
    [InlineData("""{"lead":{"name":"Yangi mijoz","price":"abc"},""" + Phone + "}", "lead.price")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","price":-5},""" + Phone + "}", "lead.price")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","price":12.5},""" + Phone + "}", "lead.price")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","custom_fields":"x"},""" + Phone + "}", "lead.custom_fields")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","custom_fields":{"field_id":100001}},""" + Phone + "}", "lead.custom_fields")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","custom_fields":[7]},""" + Phone + "}", "lead.custom_fields")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":"abc","value":"x"}]},""" + Phone + "}", "lead.custom_fields")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":100001}]},""" + Phone + "}", "lead.custom_fields")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","custom_fields":[{"field_id":100004,"enum_ids":"1,2"}]},""" + Phone + "}", "lead.custom_fields")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","tags":[true]},""" + Phone + "}", "lead.tags")]
    [InlineData("""{"lead":{"name":"Yangi mijoz","tags":"hot"},""" + Phone + "}", "lead.tags")]
    [InlineData("""{"lead":{"name":{"first":"x"}},""" + Phone + "}", "lead.name")]
    [InlineData("""{"lead":"x",""" + Phone + "}", "lead")]
    [InlineData("""{"lead":[],""" + Phone + "}", "lead")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"},"contact":"x"}""", "contact")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"},"contact":{"phone":["+998901234567"]}}""", "contact")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"},""" + Phone + ""","utm":[1]}""", "utm")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"},""" + Phone + ""","utm":{"utm_source":{"a":1}}}""", "utm")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"},""" + Phone + ""","pipeline_id":"abc"}""", "pipeline_id")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"},""" + Phone + ""","comment":{"text":"x"}}""", "comment")]
    [InlineData("""{"lead":{"name":"Yangi mijoz"},""" + Phone + ""","source":["web"]}""", "source")]
    [InlineData("""[{"lead":{"name":"Yangi mijoz"},""" + Phone + "}]", "body")]
    [InlineData("\"just text\"", "body")]
    public async Task A_value_of_the_wrong_type_is_answered_422_under_its_key_never_500(string json, string key)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync(json);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.UnprocessableEntity, "Validation failed");
        Assert.NotNull(details);
        Assert.NotEmpty(details);
        Assert.All(details, entry =>
        {
            Assert.True(entry.Key == key || entry.Key.StartsWith(key + ".", StringComparison.Ordinal), $"unexpected detail key {entry.Key}");
            Assert.False(string.IsNullOrWhiteSpace(entry.Value?.GetValue<string>()));
        });
        Assert.Empty(amo.State.Requests);
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task A_valid_lead_passes_validation_and_reaches_amoCRM()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync(Json.MinimalLead);

        await ApiAssert.SuccessDataAsync(response);
        Assert.Single(amo.State.Unsorted);
    }

    [Fact]
    public async Task Every_problem_of_a_lead_is_reported_at_once()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""{"lead":{"name":""},"contact":{}}""");

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.UnprocessableEntity, "Validation failed");
        ApiAssert.SameJson(
            """{"lead.name":"Lead name is required","contact":"At least one contact field (name, phone, email) is required"}""",
            details);
    }

    [Fact]
    public async Task A_validation_answer_is_not_a_problem_details_body()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""{"lead":{"name":""},""" + Phone + "}");

        var body = await ApiAssert.EnvelopeAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(["success", "error", "details"], body.Select(p => p.Key));
        Assert.IsType<JsonObject>(body["details"]);
    }
}
