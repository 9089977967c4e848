using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Events;

public sealed class AmoWebhookTests
{
    private const string Subscriptions = """
        {"subscriptions":[
          {"name":"erp","events":["amocrm.lead.status_changed"],"filter":{"pipeline_id":[100]},"url":"SINK/erp","secret":"erp-secret-0123456789"},
          {"name":"other-pipeline","events":["amocrm.lead.*"],"filter":{"pipeline_id":[999]},"url":"SINK/other"},
          {"name":"sales","events":["amocrm.lead.status_changed"],"filter":{"status_id":[142]},"telegram_chat_id":"-100777","language":"uz"},
          {"name":"other-user","events":["amocrm.*"],"filter":{"responsible_user_id":[5]},"telegram_chat_id":888},
          {"name":"leads-only","events":["lead.*"],"url":"SINK/leads"}
        ]}
        """;

    // The same path with the secret's last hex digit changed (never to itself).
    private static string WrongSecret(string path) => path[..^1] + (path[^1] == '0' ? "1" : "0");

    private static GatewayApp App(AmoEmulator amo, TestTimeProvider? clock = null) =>
        EventsTestKit.App(amo, clock, subscriptions: Subscriptions.Replace("SINK/", new Uri(amo.BaseUrl, "/_emulator/sink/").ToString(), StringComparison.Ordinal));

    [Fact]
    public async Task An_amoCRM_status_change_reaches_the_matching_HTTP_subscriber_and_Telegram_chat_and_no_other()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var admin = app.CreateKeyedClient();
        var path = await EventsTestKit.WebhookPathAsync(admin);
        amo.Hooks.Client = app.CreateAnonymousClient();
        amo.Hooks.AddDestination("http://localhost" + path);

        var sent = Assert.Single(await amo.Hooks.ChangeStatusAsync(leadId: 5001, pipelineId: 100, statusId: 142, responsibleUserId: 7));

        Assert.Equal(200, sent.Status);
        var forwarded = await Eventually.SingleAsync(() => amo.Hooks.SinkRequests("erp"), "the ERP's copy");
        var message = await Eventually.SingleAsync(() => amo.Hooks.TelegramMessages, "the sales chat's message");
        Assert.Equal("amocrm.lead.status_changed", forwarded.Headers["X-Gateway-Event"]);
        Assert.True(EventsTestKit.Verifies(forwarded, "erp-secret-0123456789"));
        var data = EventsTestKit.Json(forwarded)["data"]!;
        Assert.Equal(5001, (long?)data["id"]);
        Assert.Equal(142, (long?)data["status_id"]);
        Assert.Equal(100, (long?)data["pipeline_id"]);
        Assert.Equal(amo.State.MainAccount.Subdomain, (string?)data["subdomain"]);
        Assert.Equal("-100777", message.ChatId);
        Assert.Equal(EventsTestKit.BotToken, message.Token);
        Assert.Contains("Lid #5001", message.Text, StringComparison.Ordinal);
        Assert.Contains("142", message.Text, StringComparison.Ordinal);

        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        Assert.Empty(amo.Hooks.SinkRequests("other"));
        Assert.Empty(amo.Hooks.SinkRequests("leads"));
        Assert.DoesNotContain(amo.Hooks.TelegramAttempts, m => m.ChatId == "888");
    }

    [Fact]
    public async Task A_subscription_with_fetch_gets_the_whole_v4_lead_read_through_the_accounts_budget()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var subscriptions = """{"subscriptions":[{"name":"crm","events":["amocrm.lead.status_changed"],"url":"SINK/crm","fetch":true}]}""";
        await using var app = EventsTestKit.App(amo, subscriptions: subscriptions.Replace("SINK/", new Uri(amo.BaseUrl, "/_emulator/sink/").ToString(), StringComparison.Ordinal));
        await app.AuthorizeAsync();
        using var shop = app.Client(EventsTestKit.ShopKey);
        await EventsTestKit.PostLeadAsync(shop, 1);
        var lead = Assert.Single(amo.State.Leads);
        using var admin = app.CreateKeyedClient();
        amo.Hooks.Client = app.CreateAnonymousClient();
        amo.Hooks.AddDestination("http://localhost" + await EventsTestKit.WebhookPathAsync(admin));

        await amo.Hooks.ChangeStatusAsync(leadId: lead.Id, pipelineId: 100, statusId: 142);

        var forwarded = await Eventually.SingleAsync(() => amo.Hooks.SinkRequests("crm"), "the subscriber's copy");
        var entity = EventsTestKit.Json(forwarded)["data"]!["entity"]!;
        Assert.Equal(lead.Id, (long?)entity["id"]);
        Assert.Equal(lead.Name, (string?)entity["name"]);
        Assert.Contains(amo.State.Requests, r => r.Method == "GET" && r.Path == $"/api/v4/leads/{lead.Id}" && r.Status == 200);
    }

    [Fact]
    public async Task A_manager_accepting_the_unsorted_lead_sends_amocrm_lead_added_to_its_subscriber()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var subscriptions = """{"subscriptions":[{"name":"crm","events":["amocrm.lead.added"],"url":"SINK/crm"}]}""";
        await using var app = EventsTestKit.App(amo, subscriptions: subscriptions.Replace("SINK/", new Uri(amo.BaseUrl, "/_emulator/sink/").ToString(), StringComparison.Ordinal));
        await app.AuthorizeAsync();
        using var shop = app.Client(EventsTestKit.ShopKey);
        await EventsTestKit.PostLeadAsync(shop, 1);
        var item = Assert.Single(amo.State.Unsorted);
        using var admin = app.CreateKeyedClient();
        amo.Hooks.Client = app.CreateAnonymousClient();
        amo.Hooks.AddDestination("http://localhost" + await EventsTestKit.WebhookPathAsync(admin));
        using var control = new HttpClient { BaseAddress = amo.BaseUrl };

        using var accepted = await control.PostAsync($"/_emulator/unsorted/{item.Uid}/accept", null);

        Assert.Equal(HttpStatusCode.NoContent, accepted.StatusCode);
        var forwarded = await Eventually.SingleAsync(() => amo.Hooks.SinkRequests("crm"), "the subscriber's copy");
        Assert.Equal("amocrm.lead.added", forwarded.Headers["X-Gateway-Event"]);
        Assert.Equal(item.LeadId, (long?)EventsTestKit.Json(forwarded)["data"]!["id"]);
    }

    [Fact]
    public async Task A_fetched_lead_that_amoCRM_no_longer_has_goes_out_with_a_null_entity()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var subscriptions = """{"subscriptions":[{"name":"crm","events":["amocrm.lead.*"],"url":"SINK/crm","fetch":true}]}""";
        await using var app = EventsTestKit.App(amo, subscriptions: subscriptions.Replace("SINK/", new Uri(amo.BaseUrl, "/_emulator/sink/").ToString(), StringComparison.Ordinal));
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();
        amo.Hooks.Client = app.CreateAnonymousClient();
        amo.Hooks.AddDestination("http://localhost" + await EventsTestKit.WebhookPathAsync(admin));

        await amo.Hooks.ChangeStatusAsync(leadId: 987654321, pipelineId: 100, statusId: 142);

        var forwarded = await Eventually.SingleAsync(() => amo.Hooks.SinkRequests("crm"), "the subscriber's copy");
        var data = EventsTestKit.Json(forwarded)["data"]!.AsObject();
        Assert.True(data.ContainsKey("entity"));
        Assert.Null(data["entity"]);
        Assert.Equal(987654321, (long?)data["id"]);
    }

    [Fact]
    public async Task A_webhook_with_a_wrong_secret_or_account_is_not_found_and_one_after_rotation_only_with_the_new_secret()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var admin = app.CreateKeyedClient();
        using var anonymous = app.CreateAnonymousClient();
        var path = await EventsTestKit.WebhookPathAsync(admin);
        var body = new FormUrlEncodedContent([new("leads[add][0][id]", "1"), new("account[subdomain]", "x")]);

        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.PostAsync(WrongSecret(path), body)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.PostAsync(path.Replace(GatewayApp.Domain, "other.amocrm.ru", StringComparison.Ordinal), body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsync(path, body)).StatusCode);

        var rotated = await ApiAssert.SuccessDataAsync(await admin.PostAsync("/api/v1/admin/events/amocrm-webhook/rotate", null));
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.PostAsync(path, body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsync((string)rotated["path"]!, body)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/admin/events/amocrm-webhook")).StatusCode);
    }

    [Fact]
    public async Task The_webhook_secret_and_the_bot_token_appear_in_no_log_line()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var admin = app.CreateKeyedClient();
        var path = await EventsTestKit.WebhookPathAsync(admin);
        var secret = path[(path.LastIndexOf('/') + 1)..];
        amo.Hooks.Client = app.CreateAnonymousClient();
        amo.Hooks.AddDestination("http://localhost" + path);
        amo.Hooks.AddDestination("http://localhost" + WrongSecret(path));
        amo.Hooks.TelegramTooManyRequests(1, 0);

        await amo.Hooks.ChangeStatusAsync(leadId: 5001, pipelineId: 100, statusId: 142);
        await Eventually.SingleAsync(() => amo.Hooks.TelegramMessages, "the chat's message");

        Assert.Contains(app.Logs.Lines, l => l.Message.Contains("/hooks/amocrm/", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Message.Contains(secret, StringComparison.Ordinal) || l.Message.Contains(secret[..^1], StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Message.Contains(EventsTestKit.BotToken, StringComparison.Ordinal) || l.Message.Contains(EventsTestKit.BotToken.Split(':')[1], StringComparison.Ordinal));
    }

    [Fact]
    public async Task Contacts_companies_notes_and_custom_fields_decode_into_the_documented_events()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = EventsTestKit.App(amo, subscriptions: $$"""{"subscriptions":[{"name":"all","events":["*"],"url":"{{EventsTestKit.Sink(amo, "all")}}"}]}""");
        using var admin = app.CreateKeyedClient();
        var path = await EventsTestKit.WebhookPathAsync(admin);
        using var body = new FormUrlEncodedContent([
            new("contacts[add][0][id]", "71"), new("contacts[add][0][name]", "Dilnoza"), new("contacts[add][0][type]", "contact"),
            new("contacts[add][0][custom_fields][0][id]", "501"), new("contacts[add][0][custom_fields][0][values][0][value]", "+998901234567"),
            new("contacts[add][1][id]", "72"), new("contacts[add][1][name]", "Acme LLC"), new("contacts[add][1][type]", "company"),
            new("leads[note][0][note][id]", "900"), new("leads[note][0][note][element_id]", "31001"), new("leads[note][0][note][text]", "called back"),
            new("leads[responsible][0][id]", "31001"), new("leads[responsible][0][responsible_user_id]", "5"), new("leads[responsible][0][old_responsible_user_id]", "4"),
            new("account[subdomain]", "mycompany"), new("account[id]", "29000000")]);
        body.Headers.ContentType!.CharSet = "utf-8";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body };
        request.Headers.TryAddWithoutValidation("User-Agent", HookState.UserAgent);

        var response = await app.CreateAnonymousClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Eventually.TrueAsync(() => amo.Hooks.SinkRequests("all").Count == 4, "four events");
        var events = amo.Hooks.SinkRequests("all").Select(EventsTestKit.Json).ToDictionary(e => (string)e["type"]!, e => e["data"]!);
        Assert.Equal(["amocrm.company.added", "amocrm.contact.added", "amocrm.lead.responsible_changed", "amocrm.note.added"], events.Keys.Order());
        Assert.Equal("+998901234567", (string?)events["amocrm.contact.added"]["custom_fields"]![0]!["values"]![0]!["value"]);
        Assert.Equal(501, (long?)events["amocrm.contact.added"]["custom_fields"]![0]!["id"]);
        Assert.Equal("Acme LLC", (string?)events["amocrm.company.added"]["name"]);
        Assert.Equal(31001, (long?)events["amocrm.note.added"]["element_id"]);
        Assert.Equal("lead", (string?)events["amocrm.note.added"]["entity"]);
        Assert.Equal(4, (long?)events["amocrm.lead.responsible_changed"]["old_responsible_user_id"]);
        Assert.All(events.Values, d => Assert.Equal(29000000, (long?)d["account_id"]));
    }
}
