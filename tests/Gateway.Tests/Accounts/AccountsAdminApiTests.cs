using System.Net;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Accounts;

// GET /api/v1/admin/accounts and POST …/{domain}/pause|resume: scope admin; a key bound to one account sees only it.
public sealed class AccountsAdminApiTests
{
    private const string SchoolAdminKey = "school-admin-key-0123456789";

    [Fact]
    public async Task An_admin_lists_every_account_with_its_token_and_queue_and_others_are_refused()
    {
        await using var two = await TwoAccounts.StartAsync(new Dictionary<string, string?> { ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        await two.App.AuthorizeAsync();
        using var admin = two.App.CreateKeyedClient();
        using var school = two.School;
        await TwoAccounts.PostAsync(school, "waiting for B's consent");

        var data = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/accounts"));

        var accounts = data["accounts"]!.AsArray();
        Assert.Equal([GatewayApp.Domain, TwoAccounts.DomainB], accounts.Select(a => (string?)a!["domain"]));
        Assert.True((bool)accounts[0]!["default"]!);
        Assert.Equal("valid", (string?)accounts[0]!["token_state"]);
        Assert.Equal("delivering", (string?)accounts[0]!["state"]);
        Assert.Equal("none", (string?)accounts[1]!["token_state"]);
        Assert.Equal("waiting_for_token", (string?)accounts[1]!["state"]);
        Assert.Equal(1, (int)accounts[1]!["queue"]!["queued"]!);
        Assert.DoesNotContain(two.B.Options.ClientSecret, data.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await school.GetAsync("/api/v1/admin/accounts")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await school.PostAsync($"/api/v1/admin/accounts/{TwoAccounts.DomainB}/pause", null)).StatusCode);
    }

    [Fact]
    public async Task A_paused_account_keeps_its_leads_queued_while_the_other_delivers_and_resumes_on_request()
    {
        await using var two = await TwoAccounts.StartAsync(new Dictionary<string, string?> { ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        await two.AuthorizeBothAsync();
        using var admin = two.App.CreateKeyedClient();
        using var shop = two.Shop;
        using var school = two.School;

        var paused = await ApiAssert.SuccessDataAsync(await admin.PostAsync($"/api/v1/admin/accounts/{TwoAccounts.DomainB}/pause", null));
        Assert.Equal("paused_by_admin", (string?)paused["queue"]!["pause_reason"]);
        var schoolLead = await TwoAccounts.PostAsync(school, "school");
        var shopLead = await TwoAccounts.PostAsync(shop, "shop");
        await two.App.Get<Gateway.Outbox.OutboxDispatcher>().DispatchAsync(CancellationToken.None);

        Assert.Equal("delivered", await TwoAccounts.StatusAsync(shop, shopLead));
        Assert.Equal("queued", await TwoAccounts.StatusAsync(school, schoolLead));
        Assert.Empty(two.B.State.Leads);
        var listed = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/accounts"));
        Assert.Equal("paused", (string?)listed["accounts"]![1]!["state"]);

        await ApiAssert.SuccessDataAsync(await admin.PostAsync($"/api/v1/admin/accounts/{TwoAccounts.DomainB}/resume", null));
        await Eventually.TrueAsync(async () => await TwoAccounts.StatusAsync(school, schoolLead) == "delivered", "B's lead delivered after resume");
        await ApiAssert.FailureAsync(await admin.PostAsync("/api/v1/admin/accounts/nobody.amocrm.ru/pause", null), HttpStatusCode.NotFound, "Account not found");
    }

    [Fact]
    public async Task An_admin_key_bound_to_one_account_sees_and_pauses_only_that_account()
    {
        await using var two = await TwoAccounts.StartAsync();
        SecurityTestKit.WriteKeysFile(two.App.DataDir, SecurityTestKit.Entry("school-admin", SchoolAdminKey, $"\"account\":\"{TwoAccounts.DomainB}\",\"scopes\":[\"admin\"]"));
        TwoAccounts.Touch(Path.Combine(two.App.DataDir, "api-keys.json"), 7);
        using var schoolAdmin = two.App.Client(SchoolAdminKey);
        using var admin = two.App.CreateKeyedClient();
        await Eventually.TrueAsync(async () =>
        {
            await admin.GetAsync("/api/v1/leads");
            return two.App.Logs.Lines.Any(l => l.Message.Contains("(school-admin)", StringComparison.Ordinal));
        }, "the bound admin key loaded");

        var data = await ApiAssert.SuccessDataAsync(await schoolAdmin.GetAsync("/api/v1/admin/accounts"));

        Assert.Equal([TwoAccounts.DomainB], data["accounts"]!.AsArray().Select(a => (string?)a!["domain"]));
        await ApiAssert.FailureAsync(await schoolAdmin.PostAsync($"/api/v1/admin/accounts/{GatewayApp.Domain}/pause", null), HttpStatusCode.NotFound, "Account not found");
        await ApiAssert.FailureAsync(await schoolAdmin.GetAsync($"/api/v1/diagnostics/queue?account={GatewayApp.Domain}"), HttpStatusCode.NotFound, "Account not found");
        var tokenStatus = await ApiAssert.SuccessDataAsync(await schoolAdmin.GetAsync("/api/v1/diagnostics/token-status"));
        Assert.Equal(TwoAccounts.DomainB, (string?)tokenStatus["account"]);
        Assert.Equal(HttpStatusCode.Redirect, (await schoolAdmin.GetAsync("/oauth/authorize")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await schoolAdmin.GetAsync($"/oauth/authorize?account={GatewayApp.Domain}")).StatusCode);
    }
}
