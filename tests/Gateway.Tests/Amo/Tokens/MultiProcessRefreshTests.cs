using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo.Tokens;

[Trait("Kind", "Process")]
public sealed class MultiProcessRefreshTests
{
    [Fact]
    public async Task Two_gateway_processes_on_one_database_refresh_an_expired_token_once()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        // The gateway believes the token expired a day ago, so the first request of each process wants a refresh.
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, believedExpiry: TimeProvider.System.GetUtcNow().AddDays(-1));
        await using var first = await GatewayProcess.StartAsync(environment, dir);
        await using var second = await GatewayProcess.StartAsync(environment, dir);
        using var a = first.CreateKeyedClient();
        using var b = second.CreateKeyedClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            (i % 2 == 0 ? a : b).PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)));

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted }));
        await Eventually.TrueAsync(() => amo.State.Unsorted.Count == 60, "all 60 leads delivered");
        Assert.Equal(1, amo.State.RefreshGrants);
    }
}
