using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Emulator.Tests;

// One amoCRM, several accounts: a code redeems for the account that gave consent, wherever it is redeemed, and a
// token reads and writes only its own account. The gateway must check whose token it got; it cannot rely on the host.
public sealed class AccountTests
{
    [Fact]
    public async Task A_second_accounts_consent_code_redeems_at_the_same_token_endpoint_for_that_accounts_token()
    {
        await using var amo = await Amo.StartAsync();
        var stranger = amo.State.AddAccount("stranger", 31_000_001);
        using var http = Amo.Client(amo);

        using var exchanged = await Amo.ExchangeCodeAsync(http, amo.Options, amo.State.CreateAuthorizationCode(stranger));

        Assert.Equal(HttpStatusCode.OK, exchanged.StatusCode);
        var access = (string)(await Amo.ReadObjectAsync(exchanged))["access_token"]!;
        Assert.Equal(stranger, amo.State.AccountOf(access));
    }

    [Fact]
    public async Task The_account_endpoint_answers_the_tokens_own_account()
    {
        await using var amo = await Amo.StartAsync();
        var stranger = amo.State.AddAccount("stranger", 31_000_001);
        using var ours = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        using var theirs = Amo.Client(amo, amo.State.IssueTokens(stranger).AccessToken);

        var mine = await Amo.ReadObjectAsync(await ours.GetAsync("/api/v4/account"));
        var other = await Amo.ReadObjectAsync(await theirs.GetAsync("/api/v4/account"));

        Assert.Equal(amo.Options.AccountId, (long)mine["id"]!);
        Assert.Equal(amo.Options.Subdomain, (string?)mine["subdomain"]);
        Assert.Equal(31_000_001, (long)other["id"]!);
        Assert.Equal("stranger", (string?)other["subdomain"]);
    }

    [Fact]
    public async Task A_refreshed_pair_stays_with_its_account()
    {
        await using var amo = await Amo.StartAsync();
        var stranger = amo.State.AddAccount("stranger", 31_000_001);
        using var http = Amo.Client(amo);

        using var refreshed = await Amo.RefreshAsync(http, amo.Options, amo.State.IssueTokens(stranger).RefreshToken);

        Assert.Equal(stranger, amo.State.AccountOf((string)(await Amo.ReadObjectAsync(refreshed))["access_token"]!));
    }

    [Fact]
    public async Task A_lead_lands_in_the_account_of_the_token_that_created_it_and_only_that_account_sees_it()
    {
        await using var amo = await Amo.StartAsync();
        var stranger = amo.State.AddAccount("stranger", 31_000_001);
        using var theirs = Amo.Client(amo, amo.State.IssueTokens(stranger).AccessToken);
        using var ours = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        using var created = await theirs.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("r-1"))));

        var answer = (await Amo.ReadObjectAsync(created))["_embedded"]!["unsorted"]![0]!;
        Assert.Equal(31_000_001, (long)answer["account_id"]!);
        var record = Assert.Single(amo.State.Unsorted);
        Assert.Equal(31_000_001, record.AccountId);
        Assert.Equal(HttpStatusCode.OK, (await theirs.GetAsync($"/api/v4/leads/{record.LeadId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await ours.GetAsync($"/api/v4/leads/{record.LeadId}")).StatusCode);
        using var control = Amo.Client(amo);
        var theirStats = JsonNode.Parse(await control.GetStringAsync("/_emulator/stats?account=stranger"))!;
        var ourStats = JsonNode.Parse(await control.GetStringAsync($"/_emulator/stats?account={amo.State.MainAccount.Subdomain}"))!;
        Assert.Equal((1, 1, 2), ((int)theirStats["leads"]!, (int)theirStats["contacts"]!, (int)theirStats["requests"]!));
        Assert.Equal((0, 0, 1), ((int)ourStats["leads"]!, (int)ourStats["contacts"]!, (int)ourStats["requests"]!));
        var leads = JsonNode.Parse(await control.GetStringAsync("/_emulator/stats/leads"))!;
        Assert.Equal((1, 0), ((int)leads["stranger"]!, (int)leads[amo.State.MainAccount.Subdomain]!));
    }

    [Fact]
    public async Task The_consent_page_lets_another_account_consent_and_names_its_host_as_referer()
    {
        await using var amo = await Amo.StartAsync();
        amo.State.AddAccount("stranger", 31_000_001);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = amo.BaseUrl };

        using var response = await http.GetAsync($"/oauth?client_id={amo.Options.ClientId}&state=s1&account=stranger");
        using var unknown = await http.GetAsync($"/oauth?client_id={amo.Options.ClientId}&state=s1&account=nobody");

        var query = QueryHelpers.ParseQuery(response.Headers.Location!.Query);
        Assert.Equal("stranger.amocrm.ru", query["referer"]);
        using var exchanged = await Amo.ExchangeCodeAsync(Amo.Client(amo), amo.Options, query["code"].ToString());
        Assert.Equal("stranger", amo.State.AccountOf((string)(await Amo.ReadObjectAsync(exchanged))["access_token"]!)!.Subdomain);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [Fact]
    public async Task Accounts_can_be_added_over_the_control_api()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo);

        using var added = await http.PostAsync("/_emulator/accounts", Amo.Json(new JsonObject { ["subdomain"] = "stranger", ["id"] = 31_000_001 }));
        using var duplicate = await http.PostAsync("/_emulator/accounts", Amo.Json(new JsonObject { ["subdomain"] = "again", ["id"] = 31_000_001 }));
        using var tokens = await http.PostAsync("/_emulator/tokens?account=stranger", null);

        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
        Assert.Equal(31_000_001, amo.State.AccountOf((string)(await Amo.ReadObjectAsync(tokens))["access_token"]!)!.Id);
    }
}
