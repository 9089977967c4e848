using System.Net;
using Emulator;
using Gateway.Tests.Accounts;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;
using Xunit.Abstractions;

namespace Gateway.Tests.Cluster;

// Three gateway processes on one database serving two amoCRM accounts (two emulators, each enforcing its own 7/s).
[Trait("Kind", "Process")]
public sealed class AccountsClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_instances_and_two_expired_accounts_refresh_once_each_keep_each_budget_and_lose_nothing_when_one_is_killed()
    {
        await using var a = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond: 7));
        await using var b = await AmoEmulator.StartAsync(TwoAccounts.SecondAccountOptions(rateLimitPerSecond: 7));
        var expired = TimeProvider.System.GetUtcNow().AddDays(-1);
        var (dir, environment) = await GatewayProcess.PrepareAsync(a, expired, new Dictionary<string, string?>
        {
            ["AMO_RATE_LIMIT"] = "7",
            ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0",
            ["OUTBOX_BATCH_SIZE"] = "10",
            ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0",
            // Both tokens are refreshed as three instances start and 600 leads arrive, with the suites running side by
            // side: a refresh whose answer is later than the timeout counts as spent (single-use refresh tokens), and
            // the account then waits for consent. 3 s was once too short in CI; the lease stays just above it.
            ["OUTBOX_LEASE_SECONDS"] = "12",
            ["AMO_TIMEOUT_SECONDS"] = "10",
        });
        var pair = b.State.IssueTokens();
        var tokensB = Path.Combine(dir, "tokens-b.json");
        await File.WriteAllTextAsync(tokensB, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{expired.ToUnixTimeSeconds()}},"base_domain":"{{TwoAccounts.DomainB}}"}""");
        environment["ACCOUNTS_FILE"] = TwoAccounts.WriteAccountsFile(dir, TwoAccounts.AccountEntry(b, $"\"tokens_file\":\"{tokensB}\",\"rate_limit\":7"));
        environment["API_KEYS_FILE"] = SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("school", TwoAccounts.SchoolKey, $"\"account\":\"{TwoAccounts.DomainB}\""));

        // Slow answers keep the doomed instance's batches in flight when it dies.
        a.State.Delay = TimeSpan.FromMilliseconds(200);
        b.State.Delay = TimeSpan.FromMilliseconds(200);
        var cluster = (await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => GatewayProcess.StartAsync(environment, dir)))).ToList();
        try
        {
            var shops = cluster.Select(g => g.CreateKeyedClient()).ToArray();
            var schools = cluster.Select(g =>
            {
                var client = new HttpClient { BaseAddress = g.BaseUrl };
                client.DefaultRequestHeaders.Add("X-API-KEY", TwoAccounts.SchoolKey);
                return client;
            }).ToArray();
            var acknowledged = new List<(bool School, string Uid)>();
            var sends = Enumerable.Range(0, 600).Select(async i =>
            {
                var school = i % 2 == 1;
                try
                {
                    var response = await (school ? schools : shops)[i % 3].PostJsonAsync("/api/v1/leads/unsorted", Outbox.OutboxTestKit.Lead(i));
                    if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted)
                    {
                        var uid = (string)(await response.ReadObjectAsync())["data"]!["source_uid"]!;
                        lock (acknowledged)
                        {
                            acknowledged.Add((school, uid));
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    // Cut off by the kill: never acknowledged, so the gateway owes nothing for it.
                }
            }).ToList();

            await Eventually.TrueAsync(() => a.State.Unsorted.Count >= 30 && b.State.Unsorted.Count >= 30, "deliveries under way to both", TimeSpan.FromSeconds(30));
            cluster[0].Kill();
            await Task.WhenAll(sends);

            await Eventually.TrueAsync(
                () => acknowledged.All(x => (x.School ? b : a).State.Unsorted.Any(u => u.SourceUid == x.Uid)),
                "every acknowledged lead delivered to its account by the survivors",
                TimeSpan.FromSeconds(120));

            output.WriteLine($"acknowledged {acknowledged.Count}; A {a.State.Unsorted.Count} (max {a.State.MaxRequestsInAnySecond()}/s), B {b.State.Unsorted.Count} (max {b.State.MaxRequestsInAnySecond()}/s)");
            Assert.True(acknowledged.Count >= 400, $"only {acknowledged.Count} acknowledged");
            Assert.DoesNotContain(a.State.Unsorted, u => acknowledged.Any(x => x.School && x.Uid == u.SourceUid));
            Assert.DoesNotContain(b.State.Unsorted, u => acknowledged.Any(x => !x.School && x.Uid == u.SourceUid));
            // Only batches in flight at the kill can be sent twice: at most one per worker of the dead instance and account.
            var duplicates = new[] { a, b }.Sum(amo => amo.State.Unsorted.GroupBy(u => u.SourceUid).Sum(g => g.Count() - 1));
            Assert.True(duplicates <= 40, $"{duplicates} duplicates");
            Assert.Equal(1, a.State.RefreshGrants);
            Assert.Equal(1, b.State.RefreshGrants);
            foreach (var amo in new[] { a, b })
            {
                Assert.Equal(0, amo.State.RateLimitedResponses);
                Assert.InRange(amo.State.MaxRequestsInAnySecond(), 1, 7);
            }
        }
        finally
        {
            await Task.WhenAll(cluster.Select(g => g.DisposeAsync().AsTask()));
            foreach (var (gateway, i) in cluster.Select((g, i) => (g, i)))
            {
                output.WriteLine($"--- instance {i} ---");
                output.WriteLine(gateway.Output.Length > 20_000 ? gateway.Output[^20_000..] : gateway.Output);
            }
        }
    }
}
