using System.Net;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Accounts;

// ACCOUNTS_FILE: re-read on change like the keys file; a bad file at start-up is one line naming the entry, a bad
// rewrite keeps the accounts in use, an account taken out is no longer delivered to and keeps its leads.
public sealed class AccountsFileTests
{
    [Fact]
    public async Task The_accounts_file_rewritten_adds_an_account_and_imports_its_tokens_file_without_a_restart()
    {
        var clock = new TestTimeProvider();
        await using var two = await TwoAccounts.StartAsync(withAccountsFile: false, clock: clock);
        using var school = two.School;
        Assert.Equal(HttpStatusCode.Unauthorized, (await school.GetAsync("/api/v1/leads")).StatusCode);

        // What a single-account gateway of B's left behind: its tokens.json.
        var pair = two.B.State.IssueTokens();
        var tokens = Path.Combine(two.App.DataDir, "ikkinchi-tokens.json");
        await File.WriteAllTextAsync(tokens, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{pair.ExpiresAt.ToUnixTimeSeconds()}},"base_domain":"{{TwoAccounts.DomainB}}"}""");
        var accounts = TwoAccounts.WriteAccountsFile(two.App.DataDir, TwoAccounts.AccountEntry(two.B, "\"tokens_file\":\"ikkinchi-tokens.json\""));
        TwoAccounts.Touch(accounts, 1);
        TwoAccounts.WriteKeys(two.App.DataDir);
        TwoAccounts.Touch(Path.Combine(two.App.DataDir, "api-keys.json"), 1);
        clock.Advance(TimeSpan.FromSeconds(1));

        var response = await school.PostJsonAsync("/api/v1/leads/unsorted", """{"lead":{"name":"school"},"contact":{"phone":"+998901234567"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["school"], TwoAccounts.Names(two.B));
        Assert.Empty(two.A.State.Leads);
        Assert.Contains(two.App.Logs.Lines, l => l.Message.Contains("loaded: 1 accounts besides AMO_DOMAIN (ikkinchi.amocrm.ru)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_raised_rate_limit_in_the_rewritten_file_is_used_without_a_restart()
    {
        var clock = new TestTimeProvider();
        await using var two = await TwoAccounts.StartAsync(accountExtra: "\"rate_limit\":1", clock: clock);
        await two.AuthorizeBothAsync();
        using var school = two.School;
        using var admin = two.App.CreateKeyedClient();
        const string Labels = $"account=\"{TwoAccounts.DomainB}\"";

        // Each call takes a second at amoCRM: of two at once, one waits for the other while one call a second is the limit.
        two.B.State.Delay = TimeSpan.FromSeconds(1);
        Assert.All(await Task.WhenAll(school.GetAsync("/api/v1/info/account"), school.GetAsync("/api/v1/info/pipelines")), a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        var waited = Operations.MetricsTests.Sample(await Operations.MetricsTests.ScrapeAsync(admin), "gateway_amo_rate_limit_waits_total", Labels);
        Assert.Equal(1, waited);

        var path = TwoAccounts.WriteAccountsFile(two.App.DataDir, TwoAccounts.AccountEntry(two.B, "\"rate_limit\":7"));
        TwoAccounts.Touch(path, 4);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await school.GetAsync("/api/v1/leads")).StatusCode);
        Assert.All(await Task.WhenAll(school.GetAsync("/api/v1/info/lead-fields"), school.GetAsync("/api/v1/info/contact-fields")), a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));

        Assert.Equal(waited, Operations.MetricsTests.Sample(await Operations.MetricsTests.ScrapeAsync(admin), "gateway_amo_rate_limit_waits_total", Labels));
        var fields = two.B.State.Requests.Where(r => r.Path.Contains("/custom_fields", StringComparison.Ordinal)).Select(r => r.ReceivedAt).Order().ToList();
        Assert.Equal(2, fields.Count);
        Assert.True(fields[1] - fields[0] < TimeSpan.FromSeconds(1), $"the second call went {fields[1] - fields[0]} after the first");
    }

    [Fact]
    public async Task A_bad_rewrite_keeps_the_accounts_in_use_and_logs_one_error()
    {
        var clock = new TestTimeProvider();
        await using var two = await TwoAccounts.StartAsync(clock: clock);
        await two.AuthorizeBothAsync();
        using var school = two.School;

        var path = TwoAccounts.WriteAccountsFile(two.App.DataDir, """{"domain":"ikkinchi.amocrm.ru","client_secert":"typo"}""");
        TwoAccounts.Touch(path, 2);
        for (var i = 0; i < 3; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(HttpStatusCode.OK, (await school.GetAsync("/api/v1/leads")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await school.PostJsonAsync("/api/v1/leads/unsorted", """{"lead":{"name":"still here"},"contact":{"phone":"+998901234567"}}""")).StatusCode);
        Assert.Equal(["still here"], TwoAccounts.Names(two.B));
        var error = Assert.Single(two.App.Logs.Lines, l => l.Level == LogLevel.Error && l.Message.Contains("accounts.json", StringComparison.Ordinal));
        Assert.Contains("client_secert", error.Message, StringComparison.Ordinal);
        Assert.Contains("previous 1 accounts stay in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_account_taken_out_of_the_file_is_not_delivered_to_and_keeps_its_queued_leads()
    {
        var clock = new TestTimeProvider();
        await using var two = await TwoAccounts.StartAsync(new Dictionary<string, string?> { ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" }, clock: clock);
        using var admin = two.App.CreateKeyedClient();
        using var school = two.School;
        var queued = await TwoAccounts.PostAsync(school, "before removal");

        var path = TwoAccounts.WriteAccountsFile(two.App.DataDir);
        TwoAccounts.Touch(path, 3);
        clock.Advance(TimeSpan.FromSeconds(1));
        await two.AuthorizeBAsync();
        await two.App.Get<Gateway.Outbox.OutboxDispatcher>().DispatchAsync(CancellationToken.None);

        await ApiAssert.FailureAsync(await school.GetAsync($"/api/v1/leads/{queued}"), HttpStatusCode.NotFound, $"Lead {queued} not found");
        await ApiAssert.FailureAsync(await school.GetAsync("/api/v1/leads"), HttpStatusCode.NotFound, "Account not found");
        Assert.Empty(two.B.State.Leads);

        // Put back, the account delivers what it kept.
        TwoAccounts.WriteAccountsFile(two.App.DataDir, TwoAccounts.AccountEntry(two.B));
        TwoAccounts.Touch(path, 4);
        // Re-read within a second of the change, by whichever caller looks first (the dispatcher's own pass may).
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), async () =>
        {
            await two.App.Get<Gateway.Outbox.OutboxDispatcher>().DispatchAsync(CancellationToken.None);
            var response = await school.GetAsync($"/api/v1/leads/{queued}");
            return response.StatusCode == HttpStatusCode.OK && (string?)(await ApiAssert.SuccessDataAsync(response))["status"] == "delivered";
        }, "the put-back account's kept lead delivered");
    }

    [Theory]
    [InlineData("""{"accounts":[{"domain":"ikkinchi.amocrm.ru","client_secert":"x"}]}""", "accounts[0] (ikkinchi.amocrm.ru) has an unknown property \"client_secert\"")]
    [InlineData("""{"accounts":[{"client_id":"x"}]}""", "accounts[0].domain is required")]
    [InlineData("""{"accounts":[{"domain":"example.com"}]}""", "accounts[0].domain must be an amoCRM or Kommo account host")]
    [InlineData("""{"accounts":[{"domain":"emulator.amocrm.ru"}]}""", "accounts[0] (emulator.amocrm.ru) is listed twice")]
    [InlineData("""{"accounts":[{"domain":"b.amocrm.ru"},{"domain":"B.amocrm.ru"}]}""", "accounts[1] (b.amocrm.ru) is listed twice")]
    [InlineData("""{"accounts":[{"domain":"b.amocrm.ru","rate_limit":70}]}""", "accounts[0] (b.amocrm.ru).rate_limit")]
    [InlineData("""{"accounts":[{"domain":"b.amocrm.ru","long_lived_token":"not-a-jwt"}]}""", "accounts[0] (b.amocrm.ru).long_lived_token")]
    [InlineData("""{"accounts":[{"domain":"b.amocrm.ru","base_url":"ftp://x"}]}""", "accounts[0] (b.amocrm.ru).base_url")]
    [InlineData("""{"accounts":[{"domain":"b.amocrm.ru","defaults":{"pipeline":1}}]}""", "accounts[0] (b.amocrm.ru).defaults has an unknown property")]
    [InlineData("""[1,2""", "not valid JSON")]
    public async Task A_bad_accounts_file_stops_the_start_with_one_line_naming_the_entry(string content, string problem)
    {
        await using var amo = await Emulator.AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        var path = Path.Combine(dir, "accounts.json");
        await File.WriteAllTextAsync(path, content);
        await using var app = new GatewayApp(amo, dataDir: dir);

        var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        var message = Gateway.Hosting.StartupFailure.Describe(error);
        Assert.NotNull(message);
        Assert.StartsWith("ACCOUNTS_FILE", message, StringComparison.Ordinal);
        Assert.Contains(path, message, StringComparison.Ordinal);
        Assert.Contains(problem, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public async Task A_keys_file_key_for_an_account_not_configured_is_a_bad_entry()
    {
        await using var amo = await Emulator.AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("school", TwoAccounts.SchoolKey, $"\"account\":\"{TwoAccounts.DomainB}\""));
        await using var app = new GatewayApp(amo, dataDir: dir);

        var message = Gateway.Hosting.StartupFailure.Describe(Assert.ThrowsAny<Exception>(() => app.CreateClient()));

        Assert.Contains($"keys[0].account \"{TwoAccounts.DomainB}\" is not a configured account", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_consent_page_follows_the_accounts_host_unless_one_is_set()
    {
        await using var two = await TwoAccounts.StartAsync(
            new Dictionary<string, string?> { ["AMO_AUTH_URL"] = null },
            accountExtra: "");
        var dir = two.App.DataDir;
        var kommo = """{"domain":"filial.kommo.com","client_id":"k","client_secret":"kommo-secret-1234567890"}""";
        var path = TwoAccounts.WriteAccountsFile(dir, TwoAccounts.AccountEntry(two.B), kommo);
        TwoAccounts.Touch(path, 5);
        using var admin = two.App.CreateKeyedClient();

        await Eventually.TrueAsync(async () => (await admin.GetAsync("/oauth/authorize?account=filial.kommo.com")).StatusCode == HttpStatusCode.Redirect, "the kommo account known");
        var kommoConsent = await admin.GetAsync("/oauth/authorize?account=filial.kommo.com");
        var amoConsent = await admin.GetAsync("/oauth/authorize");
        var explicitConsent = await admin.GetAsync($"/oauth/authorize?account={TwoAccounts.DomainB}");

        Assert.StartsWith("https://www.kommo.com/oauth?client_id=k&", kommoConsent.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("https://www.amocrm.ru/oauth?", amoConsent.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.StartsWith(new Uri(two.B.BaseUrl, "/oauth").ToString(), explicitConsent.Headers.Location!.ToString(), StringComparison.Ordinal);
    }
}
