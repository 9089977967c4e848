using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Accounts;

// POST/DELETE /api/v1/admin/accounts: an admin adds an account beside ACCOUNTS_FILE (stored in the database,
// encrypted), it delivers without a restart and survives one; removing it stops delivery and keeps its leads.
public sealed class StoredAccountsTests
{
    [Fact]
    public async Task An_account_added_by_an_admin_delivers_its_keys_leads_without_a_restart()
    {
        var clock = new TestTimeProvider();
        await using var two = await TwoAccounts.StartAsync(withAccountsFile: false, clock: clock);
        using var admin = two.App.CreateKeyedClient();

        var added = await admin.PostJsonAsync("/api/v1/admin/accounts", TwoAccounts.AccountEntry(two.B));

        var body = await ApiAssert.EnvelopeAsync(added, HttpStatusCode.Created);
        Assert.Equal(TwoAccounts.DomainB, (string?)body["data"]!["domain"]);
        Assert.Equal("database", (string?)body["data"]!["source"]);
        Assert.DoesNotContain(two.B.Options.ClientSecret, body.ToJsonString(), StringComparison.Ordinal);
        TwoAccounts.WriteKeys(two.App.DataDir);
        TwoAccounts.Touch(Path.Combine(two.App.DataDir, "api-keys.json"), 1);
        clock.Advance(TimeSpan.FromSeconds(1));
        await two.AuthorizeBAsync();
        using var school = two.School;
        var response = await school.PostJsonAsync("/api/v1/leads/unsorted", """{"lead":{"name":"added"},"contact":{"phone":"+998901234567"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["added"], TwoAccounts.Names(two.B));
        Assert.Empty(two.A.State.Leads);
        var listed = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/accounts"));
        Assert.Contains(listed["accounts"]!.AsArray(), a => (string?)a!["domain"] == TwoAccounts.DomainB && (string?)a["source"] == "database");
    }

    [Fact]
    public async Task An_added_account_is_stored_encrypted_and_is_there_after_a_restart_with_a_key_naming_it()
    {
        var dataDir = Directory.CreateTempSubdirectory("gateway-stored-accounts-").FullName;
        SecurityTestKit.WriteKeysFile(dataDir, SecurityTestKit.Entry("shop", TwoAccounts.ShopKey));
        await using var a = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var b = await AmoEmulator.StartAsync(TwoAccounts.SecondAccountOptions());
        await using (var first = new GatewayApp(a, dataDir: dataDir))
        {
            using var admin = first.CreateKeyedClient();
            await ApiAssert.EnvelopeAsync(await admin.PostJsonAsync("/api/v1/admin/accounts", TwoAccounts.AccountEntry(b)), HttpStatusCode.Created);
            Assert.All(await TestDatabase.RawContentsAsync(first), raw => Assert.DoesNotContain(b.Options.ClientSecret, raw, StringComparison.Ordinal));
        }

        // The keys file names the added account before this start has read the table: it must not stop the start.
        TwoAccounts.WriteKeys(dataDir);
        await using var second = new GatewayApp(a, dataDir: dataDir);
        var pair = b.State.IssueTokens();
        await second.Get<Gateway.Amo.Tokens.TokenStore>().SaveAsync(TwoAccounts.DomainB, new Gateway.Amo.Tokens.TokenPair(pair.AccessToken, pair.RefreshToken, pair.ExpiresAt, TwoAccounts.DomainB, AmoAccountId: TwoAccounts.AccountIdB), false, "test", false, null, CancellationToken.None);
        using var school = second.Client(TwoAccounts.SchoolKey);

        var response = await school.PostJsonAsync("/api/v1/leads/unsorted", """{"lead":{"name":"after restart"},"contact":{"phone":"+998901234567"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["after restart"], TwoAccounts.Names(b));
    }

    [Fact]
    public async Task An_account_added_on_one_instance_is_seen_by_another_on_the_same_database_within_a_second()
    {
        var dataDir = Directory.CreateTempSubdirectory("gateway-stored-accounts-").FullName;
        await using var a = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var b = await AmoEmulator.StartAsync(TwoAccounts.SecondAccountOptions());
        var otherClock = new TestTimeProvider();
        await using var first = new GatewayApp(a, dataDir: dataDir);
        await using var second = new GatewayApp(a, otherClock, dataDir: dataDir);
        using var admin = first.CreateKeyedClient();
        using var otherAdmin = second.CreateKeyedClient();
        Assert.Single((await ApiAssert.SuccessDataAsync(await otherAdmin.GetAsync("/api/v1/admin/accounts")))["accounts"]!.AsArray());

        await ApiAssert.EnvelopeAsync(await admin.PostJsonAsync("/api/v1/admin/accounts", TwoAccounts.AccountEntry(b)), HttpStatusCode.Created);

        await otherClock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), async () =>
            (await ApiAssert.SuccessDataAsync(await otherAdmin.GetAsync("/api/v1/admin/accounts")))["accounts"]!.AsArray().Count == 2,
            "the other instance lists the added account", maxSteps: 3);
    }

    [Theory]
    [InlineData("""{"domain":"ikkinchi.amocrm.ru","client_secert":"x"}""", "account (ikkinchi.amocrm.ru) has an unknown property \"client_secert\"")]
    [InlineData("""{"domain":"example.com"}""", "account.domain must be an amoCRM or Kommo account host")]
    [InlineData("""{"domain":"ikkinchi.amocrm.ru","tokens_file":"/etc/passwd"}""", "account.tokens_file is for ACCOUNTS_FILE only")]
    [InlineData("""[1]""", "The body must be one account")]
    public async Task A_bad_account_is_refused_with_422_naming_the_problem_and_nothing_is_added(string entry, string problem)
    {
        await using var two = await TwoAccounts.StartAsync(withAccountsFile: false);
        using var admin = two.App.CreateKeyedClient();

        var details = await ApiAssert.FailureAsync(await admin.PostJsonAsync("/api/v1/admin/accounts", entry), HttpStatusCode.UnprocessableEntity, "Validation failed");

        Assert.Contains(problem, (string?)details!["account"], StringComparison.Ordinal);
        var listed = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/accounts"));
        Assert.Single(listed["accounts"]!.AsArray());
    }

    [Fact]
    public async Task An_account_of_the_file_or_env_cannot_be_added_twice_or_removed_here_and_a_bound_admin_key_cannot_add()
    {
        var clock = new TestTimeProvider();
        await using var two = await TwoAccounts.StartAsync(clock: clock);
        using var admin = two.App.CreateKeyedClient();

        var twice = await ApiAssert.FailureAsync(await admin.PostJsonAsync("/api/v1/admin/accounts", TwoAccounts.AccountEntry(two.B)), HttpStatusCode.Conflict, $"Account {TwoAccounts.DomainB} exists already");
        Assert.Equal("accounts_file", (string?)twice!["source"]);
        await ApiAssert.FailureAsync(await admin.DeleteAsync($"/api/v1/admin/accounts/{TwoAccounts.DomainB}"), HttpStatusCode.Conflict, $"Account {TwoAccounts.DomainB} is configured in ACCOUNTS_FILE; remove it there");
        await ApiAssert.FailureAsync(await admin.DeleteAsync($"/api/v1/admin/accounts/{GatewayApp.Domain}"), HttpStatusCode.Conflict, $"Account {GatewayApp.Domain} is configured in .env (AMO_DOMAIN); remove it there");
        await ApiAssert.FailureAsync(await admin.DeleteAsync("/api/v1/admin/accounts/uchinchi.amocrm.ru"), HttpStatusCode.NotFound, "Account not found");

        // An admin key bound to one account never adds or removes another.
        const string BoundAdmin = "bound-admin-key-0123456789abcdef";
        SecurityTestKit.WriteKeysFile(two.App.DataDir, SecurityTestKit.Entry("bound", BoundAdmin, $"\"account\":\"{TwoAccounts.DomainB}\",\"scopes\":[\"admin\"]"));
        TwoAccounts.Touch(Path.Combine(two.App.DataDir, "api-keys.json"), 2);
        clock.Advance(TimeSpan.FromSeconds(1));
        using var bound = two.App.Client(BoundAdmin);
        Assert.Equal(HttpStatusCode.OK, (await bound.GetAsync("/api/v1/admin/accounts")).StatusCode);
        await ApiAssert.FailureAsync(
            await bound.PostJsonAsync("/api/v1/admin/accounts", """{"domain":"uchinchi.amocrm.ru","client_id":"x","client_secret":"y","redirect_uri":"https://gw.example/oauth/callback"}"""),
            HttpStatusCode.Forbidden,
            "Only an admin not bound to an account may add or remove accounts");
    }

    [Fact]
    public async Task A_removed_account_is_not_delivered_to_and_delivers_its_kept_lead_when_added_again()
    {
        var clock = new TestTimeProvider();
        await using var two = await TwoAccounts.StartAsync(new Dictionary<string, string?> { ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" }, withAccountsFile: false, clock: clock);
        using var admin = two.App.CreateKeyedClient();
        await ApiAssert.EnvelopeAsync(await admin.PostJsonAsync("/api/v1/admin/accounts", TwoAccounts.AccountEntry(two.B)), HttpStatusCode.Created);
        TwoAccounts.WriteKeys(two.App.DataDir);
        TwoAccounts.Touch(Path.Combine(two.App.DataDir, "api-keys.json"), 1);
        clock.Advance(TimeSpan.FromSeconds(1));
        using var school = two.School;
        var queued = await TwoAccounts.PostAsync(school, "kept");

        var removed = await ApiAssert.SuccessDataAsync(await admin.DeleteAsync($"/api/v1/admin/accounts/{TwoAccounts.DomainB}"));
        Assert.Equal(TwoAccounts.DomainB, (string?)removed["domain"]);
        await two.AuthorizeBAsync();
        await two.App.Get<Gateway.Outbox.OutboxDispatcher>().DispatchAsync(CancellationToken.None);
        Assert.Empty(two.B.State.Leads);
        await ApiAssert.FailureAsync(await school.GetAsync($"/api/v1/leads/{queued}"), HttpStatusCode.NotFound, $"Lead {queued} not found");

        await ApiAssert.EnvelopeAsync(await admin.PostJsonAsync("/api/v1/admin/accounts", TwoAccounts.AccountEntry(two.B)), HttpStatusCode.Created);
        await two.App.Get<Gateway.Outbox.OutboxDispatcher>().DispatchAsync(CancellationToken.None);

        Assert.Equal(["kept"], TwoAccounts.Names(two.B));
    }
}
