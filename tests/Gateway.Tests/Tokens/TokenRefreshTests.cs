using System.Net;
using Emulator;
using Gateway.Amo;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Tokens;

public sealed class TokenRefreshTests
{
    private const string Unauthorized = """{"title":"Unauthorized","type":"https://httpstatus.es/401","status":401,"detail":"Invalid user name or password"}""";

    [Fact]
    public async Task A_freshly_refreshed_token_that_amoCRM_rejects_is_not_refreshed_again_on_every_request()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        for (var i = 0; i < 10; i++)
        {
            amo.State.EnqueueResponse("/api/v4/account", 401, Unauthorized, "application/problem+json");
        }

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            responses.Add(await client.GetAsync("/api/v1/info/account"));
        }

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Equal(1, amo.State.RefreshGrants);
        var status = (await (await client.GetAsync("/api/v1/diagnostics/token-status")).ReadObjectAsync())["data"]!;
        Assert.Equal("reauthorization_required", (string?)status["state"]);
        Assert.NotNull((long?)status["next_refresh_attempt_at"]);
    }
}
