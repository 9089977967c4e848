using System.Net;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.Accounts;

// Several amoCRM accounts in one gateway: each key's leads reach its own account, each account's tokens, outage and
// revocation are its own.
public sealed class SeveralAccountsTests
{
    [Fact]
    public async Task Leads_of_two_keys_reach_their_two_accounts_and_never_cross()
    {
        await using var two = await TwoAccounts.StartAsync();
        await two.AuthorizeBothAsync();
        using var shop = two.Shop;
        using var school = two.School;

        var ids = new List<(HttpClient Client, long Id)>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((shop, await TwoAccounts.PostAsync(shop, $"shop {i}")));
            ids.Add((school, await TwoAccounts.PostAsync(school, $"school {i}")));
        }

        await Eventually.TrueAsync(async () =>
        {
            foreach (var (client, id) in ids)
            {
                if (await TwoAccounts.StatusAsync(client, id) != "delivered") return false;
            }

            return true;
        }, "every lead delivered");
        Assert.Equal(["shop 0", "shop 1", "shop 2"], TwoAccounts.Names(two.A).Order());
        Assert.Equal(["school 0", "school 1", "school 2"], TwoAccounts.Names(two.B).Order());
    }

    [Fact]
    public async Task A_key_of_account_B_gets_404_for_an_account_A_lead_and_for_A_by_name()
    {
        await using var two = await TwoAccounts.StartAsync();
        using var shop = two.Shop;
        using var school = two.School;
        var shopLead = await TwoAccounts.PostAsync(shop, "shop lead");
        var schoolLead = await TwoAccounts.PostAsync(school, "school lead");

        await ApiAssert.FailureAsync(await school.GetAsync($"/api/v1/leads/{shopLead}"), HttpStatusCode.NotFound, $"Lead {shopLead} not found");
        await ApiAssert.FailureAsync(await shop.GetAsync($"/api/v1/leads/{schoolLead}"), HttpStatusCode.NotFound, $"Lead {schoolLead} not found");
        await ApiAssert.FailureAsync(await school.GetAsync($"/api/v1/leads?account={GatewayApp.Domain}"), HttpStatusCode.NotFound, "Account not found");
        await ApiAssert.FailureAsync(await shop.GetAsync($"/api/v1/info/pipelines?account={TwoAccounts.DomainB}"), HttpStatusCode.NotFound, "Account not found");
        var listed = await ApiAssert.SuccessDataAsync(await school.GetAsync("/api/v1/leads"));
        Assert.Equal([schoolLead], listed["leads"]!.AsArray().Select(l => (long)l!["id"]!));

        // An admin not bound to an account picks one by name.
        using var admin = two.App.CreateKeyedClient();
        var bLeads = await ApiAssert.SuccessDataAsync(await admin.GetAsync($"/api/v1/leads?account={TwoAccounts.DomainB}"));
        Assert.Equal([schoolLead], bLeads["leads"]!.AsArray().Select(l => (long)l!["id"]!));
        Assert.Equal(TwoAccounts.DomainB, (string?)(await ApiAssert.SuccessDataAsync(await admin.GetAsync($"/api/v1/diagnostics/config?account={TwoAccounts.DomainB}")))["domain"]);
    }

    [Fact]
    public async Task One_idempotency_key_used_by_an_admin_on_two_accounts_makes_one_lead_in_each()
    {
        await using var two = await TwoAccounts.StartAsync(new Dictionary<string, string?> { ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        using var admin = two.App.CreateKeyedClient();
        const string Body = """{"lead":{"name":"same key"},"contact":{"phone":"+998901234567"}}""";

        async Task<long> PostAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(Body, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", "order-1001");
            var body = await ApiAssert.EnvelopeAsync(await admin.SendAsync(request), HttpStatusCode.Accepted);
            return (long)body["data"]!["id"]!;
        }

        var inA = await PostAsync("/api/v1/leads/unsorted");
        var inB = await PostAsync($"/api/v1/leads/unsorted?account={TwoAccounts.DomainB}");
        var againInB = await PostAsync($"/api/v1/leads/unsorted?account={TwoAccounts.DomainB}");

        Assert.NotEqual(inA, inB);
        Assert.Equal(inB, againInB);
        Assert.Equal(inB, (long)(await ApiAssert.SuccessDataAsync(await admin.GetAsync($"/api/v1/leads/{inB}?account={TwoAccounts.DomainB}")))["id"]!);
    }

    [Fact]
    public async Task Both_tokens_expired_at_once_are_refreshed_exactly_once_per_account()
    {
        await using var two = await TwoAccounts.StartAsync();
        await two.AuthorizeBothAsync(TimeProvider.System.GetUtcNow().AddMinutes(-1));
        using var shop = two.Shop;
        using var school = two.School;

        var posts = Enumerable.Range(0, 6).Select(i => TwoAccounts.PostAsync(i % 2 == 0 ? shop : school, $"lead {i}"));
        var ids = await Task.WhenAll(posts);

        await Eventually.TrueAsync(() => two.A.State.Leads.Count == 3 && two.B.State.Leads.Count == 3, "three leads in each account");
        Assert.Equal(6, ids.Distinct().Count());
        Assert.Equal(1, two.A.State.RefreshGrants);
        Assert.Equal(1, two.B.State.RefreshGrants);
    }

    [Fact]
    public async Task Account_A_hanging_does_not_keep_account_B_leads_waiting_beyond_5_seconds()
    {
        // A answers after 20 s, so each of A's calls holds until its 15 s timeout.
        await using var two = await TwoAccounts.StartAsync(new Dictionary<string, string?> { ["AMO_TIMEOUT_SECONDS"] = "15", ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        await two.AuthorizeBothAsync();
        two.A.State.Delay = TimeSpan.FromSeconds(20);
        using var shop = two.Shop;
        using var school = two.School;
        var shopLeads = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            shopLeads.Add(await TwoAccounts.PostAsync(shop, $"shop {i}"));
        }

        // A's batch is out, waiting for an answer that will not come in time.
        await Eventually.TrueAsync(async () => await TwoAccounts.StatusAsync(shop, shopLeads[0]) == "delivering", "A's batch on its way");
        var started = TimeProvider.System.GetUtcNow();
        var id = await TwoAccounts.PostAsync(school, "school");

        await Eventually.TrueAsync(async () => await TwoAccounts.StatusAsync(school, id) == "delivered", "B's lead delivered", TimeSpan.FromSeconds(5));
        Assert.True(TimeProvider.System.GetUtcNow() - started < TimeSpan.FromSeconds(5));
        Assert.Equal(["school"], TwoAccounts.Names(two.B));
        two.A.State.Delay = TimeSpan.Zero;
    }

    [Fact]
    public async Task Account_A_revoked_leaves_B_delivering_and_A_heals_by_its_own_consent()
    {
        await using var two = await TwoAccounts.StartAsync(new Dictionary<string, string?> { ["OUTBOX_INTAKE_WAIT_SECONDS"] = "2" });
        await two.AuthorizeBothAsync();
        two.A.State.RevokeAllTokens();
        using var shop = two.Shop;
        using var school = two.School;

        var shopLead = await TwoAccounts.PostAsync(shop, "shop");
        var schoolLead = await TwoAccounts.PostAsync(school, "school");

        await Eventually.TrueAsync(async () => await TwoAccounts.StatusAsync(school, schoolLead) == "delivered", "B's lead delivered");
        Assert.Equal("queued", await TwoAccounts.StatusAsync(shop, shopLead));
        Assert.Empty(two.A.State.Leads);

        // A's own consent (the default account's, by API_KEY) brings A's queued lead out; B's token is untouched.
        using var admin = two.App.CreateKeyedClient();
        var healed = await admin.GetAsync("/oauth/callback" + (await GatewayApp.ConsentRedirectAsync(admin)).Query);
        Assert.Equal(HttpStatusCode.OK, healed.StatusCode);
        await Eventually.TrueAsync(async () => await TwoAccounts.StatusAsync(shop, shopLead) == "delivered", "A's lead delivered after its consent");
        Assert.Equal(["shop"], TwoAccounts.Names(two.A));
        Assert.Equal(0, two.B.State.CodeGrants);
    }

    [Fact]
    public async Task Consent_for_account_B_is_started_with_its_name_and_stores_Bs_token_only()
    {
        await using var two = await TwoAccounts.StartAsync();
        using var admin = two.App.CreateKeyedClient();

        var authorize = await admin.GetAsync($"/oauth/authorize?account={TwoAccounts.DomainB}");
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        Assert.StartsWith(new Uri(two.B.BaseUrl, "/oauth").ToString(), authorize.Headers.Location!.ToString(), StringComparison.Ordinal);
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var consent = await browser.GetAsync(authorize.Headers.Location);
        var callback = await admin.GetAsync("/oauth/callback" + consent.Headers.Location!.Query);

        var granted = await ApiAssert.SuccessDataAsync(callback);
        Assert.Equal(TwoAccounts.DomainB, (string?)granted["account"]);
        Assert.Equal(TwoAccounts.AccountIdB, (long)granted["amo_account_id"]!);
        var status = await ApiAssert.SuccessDataAsync(await admin.GetAsync($"/oauth/status?account={TwoAccounts.DomainB}"));
        Assert.Equal("authorized", (string?)status["status"]);
        Assert.Equal("not_authorized", (string?)(await ApiAssert.SuccessDataAsync(await admin.GetAsync("/oauth/status")))["status"]);

        // A key of B may not start consent by naming another account, nor may any non-admin.
        using var school = two.School;
        Assert.Equal(HttpStatusCode.Forbidden, (await school.GetAsync($"/oauth/authorize?account={GatewayApp.Domain}")).StatusCode);
        await ApiAssert.FailureAsync(await admin.GetAsync("/oauth/authorize?account=nobody.amocrm.ru"), HttpStatusCode.NotFound, "Account not found");
    }

    [Fact]
    public async Task Readiness_and_metrics_have_an_entry_for_each_account()
    {
        await using var two = await TwoAccounts.StartAsync(new Dictionary<string, string?> { ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        await two.App.AuthorizeAsync();
        using var admin = two.App.CreateKeyedClient();
        using var school = two.School;
        await TwoAccounts.PostAsync(school, "waits for B's consent");

        var ready = (await (await admin.GetAsync("/health/ready")).ReadObjectAsync())["data"]!;
        var metrics = await (await admin.GetAsync("/metrics")).Content.ReadAsStringAsync();

        Assert.Equal("degraded", (string?)ready["status"]);
        Assert.Contains(ready["problems"]!.AsArray(), p => ((string?)p)!.StartsWith(TwoAccounts.DomainB + ":", StringComparison.Ordinal));
        Assert.Equal([GatewayApp.Domain, TwoAccounts.DomainB], ready["checks"]!["accounts"]!.AsArray().Select(a => (string?)a!["account"]));
        Assert.Contains($"gateway_token_can_deliver{{account=\"{GatewayApp.Domain}\"}} 1", metrics, StringComparison.Ordinal);
        Assert.Contains($"gateway_token_can_deliver{{account=\"{TwoAccounts.DomainB}\"}} 0", metrics, StringComparison.Ordinal);
    }
}
