using System.Net;
using Emulator;
using Gateway.Data;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;

namespace Gateway.Tests.Amo.Tokens;

public sealed class TokenFaultTests
{
    [Fact]
    public async Task A_token_the_key_ring_can_no_longer_decrypt_reads_as_reauthorization_required_not_as_a_500()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var foreign = new EphemeralDataProtectionProvider().CreateProtector("Gateway.Amo.Tokens.v1").Protect("a token from another key ring");
        await using (var connection = await app.Get<Database>().OpenAsync(CancellationToken.None))
        {
            await Sql.ExecuteAsync(connection, "UPDATE amo_tokens SET access_token = @foreign", null, [("foreign", foreign)], CancellationToken.None);
        }

        var status = await client.GetAsync("/api/v1/diagnostics/token-status");
        var info = await client.GetAsync("/api/v1/info/account");
        var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var data = (await status.ReadObjectAsync())["data"]!;
        Assert.Equal("reauthorization_required", (string?)data["state"]);
        Assert.Contains("cannot be decrypted", (string?)data["state_reason"], StringComparison.Ordinal);
        await ApiAssert.FailureAsync(info, HttpStatusCode.Unauthorized, "AmoCRM authorization required");
        Assert.Equal("degraded", (string?)(await ready.ReadObjectAsync())["data"]!["status"]);
        Assert.DoesNotContain(amo.State.Requests, r => r.Path == "/api/v4/account");
    }

    [Fact]
    public async Task A_refresh_lease_another_process_never_lets_go_of_answers_502_not_500()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync(expiresAt: clock.GetUtcNow().AddMinutes(-1));
        using var client = app.CreateKeyedClient();
        Assert.True(await app.Get<LeaseStore>().TryAcquireAsync("token-refresh:" + GatewayApp.Domain, "another-process", TimeSpan.FromDays(1), CancellationToken.None));

        var request = client.GetAsync("/api/v1/info/account");
        // The gateway waits for the lease on the injected clock: move it on until the wait gives up.
        await Eventually.TrueAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(30));
            return request.IsCompleted;
        }, "the wait for the lease to give up");

        await ApiAssert.FailureAsync(await request, HttpStatusCode.BadGateway, "AmoCRM is unreachable");
        Assert.Equal(0, amo.State.RefreshGrants);
    }
}
