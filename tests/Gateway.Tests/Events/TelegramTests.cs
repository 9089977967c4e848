using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Events;

public sealed class TelegramTests
{
    private static string Subscriptions(string language = "en") =>
        $$"""{"subscriptions":[{"name":"sales","events":["lead.delivered","amocrm.lead.status_changed"],"telegram_chat_id":"-100777","language":"{{language}}"}]}""";

    [Fact]
    public async Task Telegram_429_is_honoured_the_message_waits_out_retry_after_and_goes_once()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = EventsTestKit.App(amo, clock, subscriptions: Subscriptions());
        using var admin = app.CreateKeyedClient();
        var path = await EventsTestKit.WebhookPathAsync(admin);
        amo.Hooks.Client = app.CreateAnonymousClient();
        amo.Hooks.AddDestination("http://localhost" + path);
        amo.Hooks.TelegramTooManyRequests(1, retryAfterSeconds: 30);

        await amo.Hooks.ChangeStatusAsync(leadId: 5001, pipelineId: 100, statusId: 142);
        var refused = await Eventually.SingleAsync(() => amo.Hooks.TelegramAttempts, "the first attempt");
        Assert.Equal(429, refused.Status);

        for (var i = 0; i < 29; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
        }

        Assert.Single(amo.Hooks.TelegramAttempts);
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), () => Task.FromResult(amo.Hooks.TelegramMessages.Count == 1), "the message after retry_after");
        Assert.True(amo.Hooks.TelegramMessages[0].At - refused.At >= TimeSpan.FromSeconds(30));
        Assert.Equal(2, amo.Hooks.TelegramAttempts.Count);
    }

    [Fact]
    public async Task Messages_to_one_chat_go_about_one_a_second()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = EventsTestKit.App(amo, clock, subscriptions: Subscriptions());
        using var admin = app.CreateKeyedClient();
        var path = await EventsTestKit.WebhookPathAsync(admin);
        amo.Hooks.Client = app.CreateAnonymousClient();
        amo.Hooks.AddDestination("http://localhost" + path);

        for (var i = 0; i < 3; i++)
        {
            await amo.Hooks.ChangeStatusAsync(leadId: 5001 + i, pipelineId: 100, statusId: 142);
        }

        // The clock stands still between the steps: each second of it lets exactly one more message through.
        for (var expected = 1; expected <= 3; expected++)
        {
            await Eventually.TrueAsync(() => amo.Hooks.TelegramMessages.Count == expected, $"message {expected}");
            await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
            Assert.Equal(expected, amo.Hooks.TelegramMessages.Count);
            clock.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task Two_instances_together_send_one_chat_no_more_than_one_message_a_second()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var dir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        await using var first = EventsTestKit.App(amo, clock, subscriptions: Subscriptions(), dir: dir);
        await using var second = EventsTestKit.App(amo, clock, subscriptions: Subscriptions(), dir: dir);
        using var admin = first.CreateKeyedClient();
        var path = await EventsTestKit.WebhookPathAsync(admin);
        amo.Hooks.AddDestination("http://localhost" + path);

        // Two webhooks land on each instance: each alone would send its first message at once.
        for (var i = 0; i < 4; i++)
        {
            amo.Hooks.Client = (i % 2 == 0 ? first : second).CreateAnonymousClient();
            await amo.Hooks.ChangeStatusAsync(leadId: 6001 + i, pipelineId: 100, statusId: 142);
        }

        for (var expected = 1; expected <= 4; expected++)
        {
            await Eventually.TrueAsync(() => amo.Hooks.TelegramMessages.Count >= expected, $"message {expected}");
            await Task.Delay(TimeSpan.FromMilliseconds(400), TimeProvider.System);
            Assert.Equal(expected, amo.Hooks.TelegramMessages.Count);
            clock.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task A_new_lead_reaches_the_chat_with_its_name_phone_and_source_in_Russian()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = EventsTestKit.App(amo, subscriptions: Subscriptions("ru"));
        await app.AuthorizeAsync();

        await EventsTestKit.PostLeadAsync(app.CreateKeyedClient(), 3);

        var message = await Eventually.SingleAsync(() => amo.Hooks.TelegramMessages, "the new lead's message");
        Assert.Contains("Новая заявка: Dilnoza 3", message.Text, StringComparison.Ordinal);
        Assert.Contains("+998900000003", message.Text, StringComparison.Ordinal);
        Assert.Contains("Источник: site", message.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_account_waiting_for_consent_with_a_stuck_queue_is_told_to_the_chat_once_in_Uzbek()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = EventsTestKit.App(amo, clock, subscriptions: """{"subscriptions":[{"name":"ops","events":["account.*","queue.stuck"],"telegram_chat_id":"-100999","language":"uz"}]}""");
        using var client = app.CreateKeyedClient();

        // No token: the lead waits in the queue.
        await EventsTestKit.PostLeadAsync(client, 1);
        // Within the hour the clock started in (a stuck queue is told again each hour).
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(20), () => Task.FromResult(amo.Hooks.TelegramMessages.Count == 2), "both messages", maxSteps: 120);
        for (var i = 0; i < 10; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(30));
            await Task.Delay(TimeSpan.FromMilliseconds(15), TimeProvider.System);
        }

        var messages = amo.Hooks.TelegramMessages.Select(m => m.Text).ToList();
        Assert.True(messages.Count == 2, string.Join(" | ", messages));
        Assert.Contains(messages, m => m.Contains("ruxsatini qayta berish kerak", StringComparison.Ordinal) && m.Contains("/oauth/authorize?account=" + GatewayApp.Domain, StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("navbati", StringComparison.Ordinal) && m.Contains("1 ta lid kutmoqda", StringComparison.Ordinal));
    }
}
