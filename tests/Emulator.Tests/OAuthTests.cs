using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Emulator.Tests;

public sealed class OAuthTests
{
    [Fact]
    public async Task Consent_redirects_back_with_a_code_the_state_and_the_account_host()
    {
        await using var amo = await Amo.StartAsync();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = amo.BaseUrl };

        using var response = await http.GetAsync($"/oauth?client_id={amo.Options.ClientId}&state=st-42&mode=post_message&foo=bar");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        Assert.StartsWith(amo.Options.RedirectUri + "?", location, StringComparison.Ordinal);
        var query = QueryHelpers.ParseQuery(new Uri(location).Query);
        Assert.StartsWith("def50200", query["code"].ToString(), StringComparison.Ordinal);
        Assert.Equal("st-42", query["state"]);
        Assert.Equal("emulator.amocrm.ru", query["referer"]);
        Assert.Equal("1", query["platform"]);
    }

    // A browser gets amoCRM's kind of page: which account, Allow or Deny; the button's answer is the script's redirect.
    [Fact]
    public async Task A_browser_is_shown_a_consent_page_and_its_allow_and_deny_redirect_back()
    {
        await using var amo = await Amo.StartAsync();
        var stranger = amo.State.AddAccount("stranger", 31000001);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = amo.BaseUrl };
        http.DefaultRequestHeaders.Add("Accept", "text/html,application/xhtml+xml");

        using var page = await http.GetAsync($"/oauth?client_id={amo.Options.ClientId}&state=s1&mode=post_message");
        using var allowed = await http.GetAsync($"/oauth?client_id={amo.Options.ClientId}&state=s1&mode=post_message&account={stranger.Id}&decision=allow");
        using var denied = await http.GetAsync($"/oauth?client_id={amo.Options.ClientId}&state=s2&account={stranger.Id}&decision=deny");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("name=\"state\" value=\"s1\"", html, StringComparison.Ordinal);
        Assert.Contains($"<option value=\"{amo.State.MainAccount.Id}\" selected>emulator.amocrm.ru", html, StringComparison.Ordinal);
        Assert.Contains($"<option value=\"{stranger.Id}\">stranger.amocrm.ru", html, StringComparison.Ordinal);
        Assert.Contains("value=\"allow\"", html, StringComparison.Ordinal);
        Assert.Contains("value=\"deny\"", html, StringComparison.Ordinal);
        var granted = QueryHelpers.ParseQuery(allowed.Headers.Location!.Query);
        Assert.Equal("stranger.amocrm.ru", granted["referer"]);
        Assert.Equal("s1", granted["state"]);
        Assert.StartsWith("def50200", granted["code"].ToString(), StringComparison.Ordinal);
        var refused = QueryHelpers.ParseQuery(denied.Headers.Location!.Query);
        Assert.Equal("access_denied", refused["error"]);
        Assert.False(refused.ContainsKey("code"));
    }

    [Fact]
    public async Task Denied_consent_redirects_with_access_denied()
    {
        await using var amo = await Amo.StartAsync();
        amo.State.DenyConsent = true;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = amo.BaseUrl };

        using var response = await http.GetAsync($"/oauth?client_id={amo.Options.ClientId}&state=s1");

        var query = QueryHelpers.ParseQuery(response.Headers.Location!.Query);
        Assert.Equal("access_denied", query["error"]);
        Assert.Equal("s1", query["state"]);
        Assert.False(query.ContainsKey("code"));
    }

    [Fact]
    public async Task Authorization_code_works_once_and_then_is_revoked()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo);
        var code = amo.State.CreateAuthorizationCode();

        using var first = await Amo.ExchangeCodeAsync(http, amo.Options, code);
        using var second = await Amo.ExchangeCodeAsync(http, amo.Options, code);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var tokens = await Amo.ReadObjectAsync(first);
        Assert.Equal("Bearer", (string?)tokens["token_type"]);
        Assert.Equal(86400, (int)tokens["expires_in"]!);
        Assert.True(amo.State.IsAccessTokenValid((string)tokens["access_token"]!));
        Assert.StartsWith("def50200", (string?)tokens["refresh_token"], StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        var problem = await Amo.ReadObjectAsync(second);
        Assert.Equal("Authorization code has been revoked", (string?)problem["hint"]);
        Assert.Equal("https://developers.amocrm.ru/v3/errors/OAuthProblemJson", (string?)problem["type"]);
        Assert.Equal(2, amo.State.CodeGrants);
    }

    [Fact]
    public async Task Authorization_code_expires_after_twenty_minutes()
    {
        var time = new TestTimeProvider(new DateTimeOffset(2025, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await using var amo = await Amo.StartAsync(time: time);
        using var http = Amo.Client(amo);
        var code = amo.State.CreateAuthorizationCode();
        time.Advance(TimeSpan.FromMinutes(21));

        using var response = await Amo.ExchangeCodeAsync(http, amo.Options, code);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Authorization code has expired", (string?)(await Amo.ReadObjectAsync(response))["hint"]);
    }

    [Fact]
    public async Task Garbage_code_and_wrong_client_secret_get_their_own_hints()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo);

        using var garbage = await Amo.ExchangeCodeAsync(http, amo.Options, "not-a-code");
        using var wrongSecret = await Amo.ExchangeCodeAsync(
            http, new EmulatorOptions { ClientSecret = "nope" }, amo.State.CreateAuthorizationCode());

        Assert.Equal("Cannot decrypt the authorization code", (string?)(await Amo.ReadObjectAsync(garbage))["hint"]);
        Assert.Equal(HttpStatusCode.BadRequest, wrongSecret.StatusCode);
        Assert.Equal("Check the `client_secret` parameter", (string?)(await Amo.ReadObjectAsync(wrongSecret))["hint"]);
    }

    [Fact]
    public async Task Refresh_kills_the_old_refresh_token()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo);
        var pair = amo.State.IssueTokens();

        using var first = await Amo.RefreshAsync(http, amo.Options, pair.RefreshToken);
        using var second = await Amo.RefreshAsync(http, amo.Options, pair.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var rotated = await Amo.ReadObjectAsync(first);
        Assert.NotEqual(pair.RefreshToken, (string?)rotated["refresh_token"]);
        Assert.True(amo.State.IsAccessTokenValid((string)rotated["access_token"]!));
        Assert.True(amo.State.IsAccessTokenValid(pair.AccessToken), "the previous access token lives until its exp");

        Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Token has been revoked", (string?)(await Amo.ReadObjectAsync(second))["hint"]);
        Assert.Equal(2, amo.State.RefreshGrants);
    }

    [Fact]
    public async Task Lost_refresh_answer_still_rotates_the_tokens()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo);
        var pair = amo.State.IssueTokens();
        amo.State.LoseNextRefreshAnswer = true;

        await Assert.ThrowsAsync<HttpRequestException>(() => Amo.RefreshAsync(http, amo.Options, pair.RefreshToken));
        using var retry = await Amo.RefreshAsync(http, amo.Options, pair.RefreshToken);

        Assert.Equal(HttpStatusCode.Unauthorized, retry.StatusCode);
        Assert.Equal("Token has been revoked", (string?)(await Amo.ReadObjectAsync(retry))["hint"]);
        Assert.Equal(new[] { 0, 401 }, amo.State.Requests.Select(r => r.Status));
        Assert.False(amo.State.LoseNextRefreshAnswer);
    }

    [Fact]
    public async Task Expired_access_token_gets_401_problem()
    {
        var time = new TestTimeProvider(new DateTimeOffset(2025, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await using var amo = await Amo.StartAsync(time: time);
        var pair = amo.State.IssueTokens();
        using var http = Amo.Client(amo, pair.AccessToken);

        using var before = await http.GetAsync("/api/v4/account");
        time.Advance(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));
        using var after = await http.GetAsync("/api/v4/account");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Equal("application/problem+json", after.Content.Headers.ContentType?.MediaType);
        var problem = await Amo.ReadObjectAsync(after);
        Assert.Equal("Invalid user name or password", (string?)problem["detail"]);
        Assert.Equal("https://httpstatus.es/401", (string?)problem["type"]);
    }

    [Fact]
    public async Task Access_token_is_a_jwt_with_exp_and_api_domain()
    {
        var time = new TestTimeProvider(new DateTimeOffset(2025, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await using var amo = await Amo.StartAsync(time: time);

        var pair = amo.State.IssueTokens();

        var parts = pair.AccessToken.Split('.');
        Assert.Equal(3, parts.Length);
        var payload = JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]))!;
        Assert.Equal(time.GetUtcNow().AddHours(24).ToUnixTimeSeconds(), (long)payload["exp"]!);
        Assert.Equal("api-b.amocrm.ru", (string?)payload["api_domain"]);
        Assert.Equal(amo.Options.AccountId, (long)payload["account_id"]!);
    }

    [Fact]
    public async Task Revoked_tokens_get_401_on_the_api_and_on_refresh()
    {
        await using var amo = await Amo.StartAsync();
        var pair = amo.State.IssueTokens();
        using var http = Amo.Client(amo, pair.AccessToken);
        amo.State.RevokeAllTokens();

        using var api = await http.GetAsync("/api/v4/account");
        using var refresh = await Amo.RefreshAsync(http, amo.Options, pair.RefreshToken);

        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
        Assert.Equal("Token has been revoked", (string?)(await Amo.ReadObjectAsync(refresh))["hint"]);
    }
}
