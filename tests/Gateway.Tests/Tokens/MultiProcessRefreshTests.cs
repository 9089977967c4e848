using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Tokens;

public sealed class MultiProcessRefreshTests
{
    [Fact]
    public async Task Two_gateway_processes_on_one_database_refresh_an_expired_token_once()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var pair = amo.State.IssueTokens();
        var dir = Directory.CreateTempSubdirectory("gateway-mp-").FullName;
        var tokens = Path.Combine(dir, "tokens.json");
        // The gateway believes the token expired a day ago, so the first request of each process wants a refresh.
        await File.WriteAllTextAsync(tokens, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{pair.ExpiresAt.AddDays(-2).ToUnixTimeSeconds()}}}""");
        var environment = new Dictionary<string, string?>
        {
            ["API_KEY"] = GatewayApp.ApiKey,
            ["DATA_DIR"] = Path.Combine(dir, "data"),
            ["TOKEN_STORAGE_PATH"] = tokens,
            ["AMO_DOMAIN"] = GatewayApp.Domain,
            ["AMO_CLIENT_ID"] = amo.Options.ClientId,
            ["AMO_CLIENT_SECRET"] = amo.Options.ClientSecret,
            ["AMO_REDIRECT_URI"] = GatewayApp.RedirectUri,
            ["AMO_BASE_URL"] = amo.BaseUrl.ToString(),
            ["AMO_RATE_LIMIT"] = "50",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        await using var first = await GatewayProcess.StartAsync(environment, dir);
        await using var second = await GatewayProcess.StartAsync(environment, dir);
        using var a = first.CreateKeyedClient();
        using var b = second.CreateKeyedClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            (i % 2 == 0 ? a : b).PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, amo.State.RefreshGrants);
        Assert.Equal(60, amo.State.Unsorted.Count);
    }
}
