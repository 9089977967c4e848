using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Outbox;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Gateway.Tests.Sources;

namespace Gateway.Tests.AdminConsole;

// Issue 18: a lead's full trace — the raw submission, the amoCRM body sent, every amoCRM call with its status, time and
// amoCRM's words, the resulting ids — without a value of the person in it.
public sealed class LeadTraceTests
{
    private const string Refused =
        """{"validation-errors":[{"request_id":"REQ","errors":[{"code":"NotSupportedChoice","path":"custom_fields_values.0.field_id","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}""";

    [Fact]
    public async Task A_refused_then_replayed_lead_shows_both_calls_amocrms_error_the_note_and_the_body_sent_masked()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 400, Refused.Replace("\"REQ\"", "\"0\"", StringComparison.Ordinal), "application/problem+json");
        var id = await admin.PostQueuedAsync("""{"lead":{"name":"Sofa order","price":5000},"contact":{"name":"Aziza Karimova","phone":"+998901234567","email":"aziza@example.uz"},"comment":"Call after six"}""", HttpStatusCode.BadRequest);
        await ApiAssert.SuccessDataAsync(await admin.PostAsync($"/api/v1/leads/{id}/retry", null));
        await Eventually.TrueAsync(async () => (string?)(await admin.LeadAsync(id))["note_status"] == "delivered", "the lead and its note delivered");

        var trace = await ApiAssert.SuccessDataAsync(await admin.GetAsync($"/api/v1/admin/leads/{id}"));

        var calls = trace["calls"]!.AsArray();
        Assert.Equal(3, calls.Count);
        Assert.Equal(["lead", "lead", "note"], calls.Select(c => (string?)c!["step"]));
        Assert.All(calls, c => Assert.Equal("POST", (string?)c!["method"]));
        Assert.Equal(["/api/v4/leads/unsorted/forms", "/api/v4/leads/unsorted/forms", "/api/v4/leads/notes"], calls.Select(c => (string?)c!["path"]));
        Assert.Equal([400, 200, 200], calls.Select(c => (int?)c!["http_status"]));
        Assert.Equal("BadRequest", (string?)calls[0]!["outcome"]);
        Assert.Contains("The value you selected is not a valid choice.", (string?)calls[0]!["error"], StringComparison.Ordinal);
        Assert.Null(calls[1]!["error"]);
        Assert.All(calls, c => Assert.True((long)c!["at"]! > 0 && (long)c["duration_ms"]! >= 0));
        Assert.Equal("S••••••••r", (string?)trace["amo_body"]!["_embedded"]!["leads"]![0]!["name"]);
        Assert.Equal(5000, (long?)trace["amo_body"]!["_embedded"]!["leads"]![0]!["price"]);
        Assert.Equal($"https://{GatewayApp.Domain}/leads/detail/{(long)trace["lead_id"]!}", (string?)trace["links"]!["lead"]);
        Assert.Equal("Europe/Moscow", (string?)trace["time_zone"]);
        var text = trace.ToJsonString();
        foreach (var personal in new[] { "1234567", "aziza@", "Karimova", "Call after", "Sofa order" })
        {
            Assert.DoesNotContain(personal, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(amo.State.IssuedSecrets, s => text.Contains(s, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_forms_lead_shows_the_raw_submission_with_its_values_masked()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var tilda = app.CreateAnonymousClient();
        Assert.Equal(HttpStatusCode.OK, (await tilda.PostAsync($"/hooks/tilda/{GatewayApp.ApiKey}", FormSamples.Form(FormSamples.TildaUzbek))).StatusCode);
        using var admin = app.CreateKeyedClient();
        long? id = null;
        await Eventually.TrueAsync(async () =>
            (id = (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/leads?status=delivered")))["leads"]!.AsArray().Select(l => (long?)l!["id"]).FirstOrDefault()) is not null,
            "the form's lead delivered");

        var trace = await ApiAssert.SuccessDataAsync(await admin.GetAsync($"/api/v1/admin/leads/{id}"));

        var submission = trace["submission"]!;
        Assert.Equal("tilda", (string?)submission["tool"]);
        var fields = submission["fields"]!.AsArray();
        Assert.Contains(fields, f => (string?)f!["value"] == "A••••••••••v");
        Assert.DoesNotContain("Karimov", trace.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("1112233", trace.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lead_keeps_only_its_last_twenty_calls()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();
        var id = await admin.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.OK);
        var store = app.Get<LeadCallStore>();
        for (var i = 0; i < 25; i++)
        {
            await store.RecordAsync(GatewayApp.Domain, [new LeadCall(id, LeadCallStep.Lead, DateTimeOffset.FromUnixTimeSeconds(1_800_000_000 + i), "POST", "/api/v4/leads/unsorted/forms", 500 + i, 10, "ServerError", "call " + i, null)], [id]);
        }

        var calls = (await ApiAssert.SuccessDataAsync(await admin.GetAsync($"/api/v1/admin/leads/{id}")))["calls"]!.AsArray();

        Assert.Equal(LeadCallStore.KeepPerLead, calls.Count);
        Assert.Equal("call 5", (string?)calls[0]!["error"]);
        Assert.Equal("call 24", (string?)calls[^1]!["error"]);
    }

    [Fact]
    public async Task A_lead_mode_lead_shows_its_contact_search_create_and_task_calls_its_steps_and_manager_without_the_phone_searched_for()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        amo.State.Team.PutUser(amo.State.MainAccount.Id, 7001, "Manager 7001", 12, isActive: true);
        var known = amo.State.SeedContact(amo.State.MainAccount, "Aziza", ["+998901112233"], [], responsibleUserId: 7001);
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();
        var body = new JsonObject
        {
            ["lead"] = new JsonObject { ["name"] = "Qayta murojaat" },
            ["contact"] = new JsonObject { ["name"] = "Aziza", ["phone"] = "90 111 22 33" },
            ["delivery"] = new JsonObject { ["mode"] = "lead", ["pipeline_id"] = EmulatorSeed.SecondPipelineId, ["status_id"] = EmulatorSeed.SecondNewStatusId, ["contacts"] = "link" },
            ["responsible"] = new JsonObject { ["user_id"] = 7001 },
            ["task"] = new JsonObject { ["text"] = "Qo'ng'iroq qiling: {contact.name}, {contact.phone}", ["due_minutes"] = 30 },
        }.ToJsonString();
        var response = await admin.PostJsonAsync("/api/v1/leads/unsorted", body);
        var id = (await ApiAssert.EnvelopeAsync(response, response.StatusCode))["data"]!["id"]!.GetValue<long>();
        await Eventually.TrueAsync(async () => (string?)(await admin.LeadAsync(id))["task"]?["status"] == "delivered", "the task delivered");

        var trace = await ApiAssert.SuccessDataAsync(await admin.GetAsync($"/api/v1/admin/leads/{id}"));

        var calls = trace["calls"]!.AsArray();
        Assert.Equal(["contact", "lead", "task"], calls.Select(c => (string?)c!["step"]));
        Assert.Equal(["GET /api/v4/contacts?limit=50&query=…", "POST /api/v4/leads/complex", "POST /api/v4/tasks"], calls.Select(c => (string?)c!["method"] + " " + (string?)c!["path"]));
        Assert.All(calls, c => Assert.Equal(200, (int?)c!["http_status"]));
        Assert.Equal(["contact", "link"], trace["delivery"]!["steps"]!.AsArray().Select(s => (string?)s!["step"]));
        Assert.Equal(known, (long?)trace["delivery"]!["linked_contact_id"]);
        Assert.Equal(7001, (long?)trace["responsible"]!["user_id"]);
        Assert.Equal("delivered", (string?)trace["task"]!["status"]);
        Assert.Equal(Assert.Single(amo.State.Team.TasksOf()).Id, (long?)trace["task"]!["task_id"]);
        var text = trace.ToJsonString();
        foreach (var personal in new[] { "1112233", "111 22 33", "Aziza" })
        {
            Assert.DoesNotContain(personal, text, StringComparison.Ordinal);
        }
    }
}
