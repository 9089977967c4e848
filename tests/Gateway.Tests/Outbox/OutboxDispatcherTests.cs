using Emulator;
using Gateway.Amo.Tokens;
using Gateway.Outbox;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Outbox;

// The dispatcher asks the token room whether an account can deliver: the same answer readiness and /metrics give.
public sealed class OutboxDispatcherTests
{
    [Fact]
    public async Task An_expired_long_lived_token_holds_the_lead_queued_without_spending_its_attempts()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        var issued = amo.State.IssueTokens();
        await app.Get<TokenStore>().SaveAsync(GatewayApp.Domain, new Gateway.Amo.Tokens.TokenPair(issued.AccessToken, null, clock.GetUtcNow().AddMinutes(-1), GatewayApp.Domain), true, "test", false, null, CancellationToken.None);
        using var client = app.CreateKeyedClient();
        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));

        for (var pass = 0; pass < 3; pass++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            await app.Get<OutboxDispatcher>().DispatchAsync(CancellationToken.None);
        }

        var lead = await client.LeadAsync(id);
        Assert.Equal("queued", (string?)lead["status"]);
        Assert.Equal(0, (int?)lead["attempts"]);
        Assert.DoesNotContain(amo.State.Requests, r => r.Path.StartsWith("/api/v4/", StringComparison.Ordinal));
    }
}
