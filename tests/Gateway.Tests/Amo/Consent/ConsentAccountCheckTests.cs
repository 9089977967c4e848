using System.Net;
using System.Web;
using Emulator;
using Gateway.Amo.Tokens;
using Gateway.Cli;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Amo.Consent;

// Issue 12, finding 1: a code from another account may redeem at our host (the emulator does, as amoCRM might); the
// callback must ask amoCRM whose token it got before it lets that token replace ours.
public sealed class ConsentAccountCheckTests
{
    private const long StrangerId = 31_000_001;

    private static async Task<HttpResponseMessage> CallbackAsync(HttpClient client, Uri redirect, string? referer, bool html = false)
    {
        var back = HttpUtility.ParseQueryString(redirect.Query);
        var query = $"?code={Uri.EscapeDataString(back["code"]!)}&state={back["state"]}" + (referer is null ? "" : "&referer=" + Uri.EscapeDataString(referer));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth/callback" + query);
        if (html)
        {
            request.Headers.Accept.ParseAdd("text/html");
        }

        return await client.SendAsync(request);
    }

    private static async Task AssertNextLeadLandsInOurAccountAsync(AmoEmulator amo, HttpClient client)
    {
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);
        Assert.Equal(amo.State.MainAccount.Id, amo.State.Unsorted[^1].AccountId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(GatewayApp.Domain)]
    public async Task A_strangers_consent_is_refused_and_the_next_lead_still_lands_in_our_account(string? referer)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        amo.State.AddAccount("stranger", StrangerId);
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();
        Assert.Equal(HttpStatusCode.OK, (await GatewayApp.ConsentAsync(client)).StatusCode);
        var stored = await app.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None);

        var response = await CallbackAsync(client, await GatewayApp.ConsentRedirectAsync(client, "stranger"), referer);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var unchanged = await app.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None);
        Assert.Equal(stored!.AccessToken, unchanged!.AccessToken);
        await AssertNextLeadLandsInOurAccountAsync(amo, client);
    }

    [Fact]
    public async Task A_callback_without_a_referer_is_refused_before_the_code_is_spent()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await CallbackAsync(client, await GatewayApp.ConsentRedirectAsync(client), referer: null);

        await ApiAssert.FailureAsync(response, HttpStatusCode.BadRequest, "Referer not provided: the callback must name the amoCRM account host");
        Assert.Equal(0, amo.State.CodeGrants);
    }

    [Fact]
    public async Task A_token_for_another_account_is_named_in_the_answer_and_in_a_warning_without_token_material()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        amo.State.AddAccount("stranger", StrangerId);
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await CallbackAsync(client, await GatewayApp.ConsentRedirectAsync(client, "stranger"), GatewayApp.Domain);

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.BadRequest,
            $"Authorization refused: amoCRM gave a token for account stranger (id {StrangerId}), but this gateway is connected to {GatewayApp.Domain}; the stored token was not changed");
        Assert.Equal("stranger", details!["received_subdomain"]!.GetValue<string>());
        Assert.Equal(StrangerId, details["received_account_id"]!.GetValue<long>());
        Assert.Equal(1, amo.State.CodeGrants);
        Assert.False((bool)(await (await client.GetAsync("/oauth/status")).ReadObjectAsync())["data"]!["has_token"]!);
        var warning = Assert.Single(app.Logs.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("refused", StringComparison.Ordinal));
        Assert.Contains($"stranger (id {StrangerId})", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_subdomain_with_another_account_id_is_refused_once_the_id_is_known_and_the_page_says_which()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        amo.State.AddAccount(amo.Options.Subdomain, 999);
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();
        Assert.Equal(HttpStatusCode.OK, (await GatewayApp.ConsentAsync(client)).StatusCode);

        var response = await CallbackAsync(client, await GatewayApp.ConsentRedirectAsync(client, "999"), GatewayApp.Domain, html: true);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains("emulator (id 999)", page, StringComparison.Ordinal);
        Assert.Contains($"(id {amo.Options.AccountId})", page, StringComparison.Ordinal);
        await AssertNextLeadLandsInOurAccountAsync(amo, client);
    }

    [Fact]
    public async Task A_failed_account_check_stores_nothing_and_answers_502()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();
        var redirect = await GatewayApp.ConsentRedirectAsync(client);
        amo.State.EnqueueResponse("/api/v4/account", 503, "<html><body>503 Service Temporarily Unavailable</body></html>", "text/html");

        var response = await CallbackAsync(client, redirect, GatewayApp.Domain);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.StartsWith("Could not confirm which amoCRM account the new token belongs to", (string?)(await response.ReadObjectAsync())["error"], StringComparison.Ordinal);
        Assert.False((bool)(await (await client.GetAsync("/oauth/status")).ReadObjectAsync())["data"]!["has_token"]!);
    }

    [Fact]
    public async Task An_imported_token_learns_its_account_id_at_its_first_refresh_and_a_later_consent_is_held_to_it()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        amo.State.AddAccount(amo.Options.Subdomain, 999);
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();
        var pair = amo.State.IssueTokens();
        var file = Path.Combine(Directory.CreateTempSubdirectory("tokens-").FullName, "tokens.json");
        await File.WriteAllTextAsync(file, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{pair.ExpiresAt.ToUnixTimeSeconds()}},"base_domain":"{{GatewayApp.Domain}}"}""");
        Assert.Equal(0, await GatewayCli.RunAsync(app.Services, ["tokens", "import", file], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, await GatewayCli.RunAsync(app.Services, ["tokens", "refresh", "--force"], TextWriter.Null, TextWriter.Null));

        var response = await CallbackAsync(client, await GatewayApp.ConsentRedirectAsync(client, "999"), GatewayApp.Domain);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("(id 999)", (string?)(await response.ReadObjectAsync())["error"], StringComparison.Ordinal);
        await AssertNextLeadLandsInOurAccountAsync(amo, client);
    }
}
