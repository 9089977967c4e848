using System.Net;
using Emulator;
using Gateway.Amo.Tokens;
using Gateway.Outbox;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Operations;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.Cluster;

// Two gateways on one database (one SQLite file, or one PostgreSQL schema) behave as one gateway towards amoCRM.
public sealed class SharedDatabaseTests
{
    [Fact]
    public async Task Two_instances_share_one_amoCRM_rate_budget_of_seven_requests_a_second()
    {
        // amoCRM's own limit: the emulator answers HTML 429 to the eighth request in any second.
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond: 7));
        var dataDir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        var settings = new Dictionary<string, string?> { ["OUTBOX_BATCH_SIZE"] = "1", ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" };
        await using var first = new GatewayApp(amo, dataDir: dataDir, settings: settings);
        await using var second = new GatewayApp(amo, dataDir: dataDir, settings: settings);
        await first.AuthorizeAsync();
        using var a = first.CreateKeyedClient();
        using var b = second.CreateKeyedClient();

        // Each instance alone would pace itself at 7/s; together, unaware of each other, they would send 14/s.
        var responses = await Task.WhenAll(Enumerable.Range(0, 42).Select(i =>
            (i % 2 == 0 ? a : b).PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i))));

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted }));
        await Eventually.TrueAsync(() => amo.State.Unsorted.Count == 42, "all 42 leads delivered", TimeSpan.FromSeconds(30));
        OutboxTestKit.AssertEachDeliveredOnce(amo, 42);
        Assert.Equal(0, amo.State.RateLimitedResponses);
        Assert.InRange(amo.State.MaxRequestsInAnySecond(), 1, 7);
        Assert.Contains(amo.State.Requests, r => r.Path == "/api/v4/leads/unsorted/forms");
    }

#if POSTGRES
    [Fact]
    public async Task A_caller_waiting_on_one_instance_hears_at_once_that_another_instance_delivered_its_lead()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dataDir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        // Every caller waits a full minute unless the instance that delivers its lead can wake it.
        await using var first = new GatewayApp(amo, dataDir: dataDir, settings: new Dictionary<string, string?>
        {
            ["OUTBOX_WORKERS"] = "1", ["OUTBOX_INTAKE_WAIT_SECONDS"] = "60", ["OUTBOX_POLL_SECONDS"] = "60",
        });
        await using var second = new GatewayApp(amo, dataDir: dataDir, settings: new Dictionary<string, string?>
        {
            ["OUTBOX_WORKERS"] = "2", ["OUTBOX_POLL_SECONDS"] = "0.05",
        });
        await first.AuthorizeAsync();
        using var a = first.CreateKeyedClient();
        using var b = second.CreateKeyedClient();
        a.Timeout = TimeSpan.FromMinutes(2);
        await first.Get<ClusterOutcomeRelay>().Listening.WaitAsync(TimeSpan.FromSeconds(30));
        await second.Get<ClusterOutcomeRelay>().Listening.WaitAsync(TimeSpan.FromSeconds(30));
        amo.State.Delay = TimeSpan.FromSeconds(2);

        // One lead is taken and held at amoCRM for two seconds. If the first instance took it, its only worker is busy
        // and the second instance takes the next seven; if the second took it, its caller waits on the first.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var firstLead = a.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(0));
        await Eventually.TrueAsync(async () => (await ApiAssert.SuccessDataAsync(await a.GetAsync("/api/v1/leads?status=delivering")))["leads"]!.AsArray().Count == 1, "the first lead claimed");
        var rest = Enumerable.Range(1, 7).Select(i => a.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i))).ToList();
        var responses = await Task.WhenAll(rest.Prepend(firstLead));
        var answeredIn = clock.Elapsed;

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        OutboxTestKit.AssertEachDeliveredOnce(amo, 8);
        var deliveredBySecond = MetricsTests.Sample(
            await MetricsTests.ScrapeAsync(b), "gateway_leads_delivered_total", $"account=\"{GatewayApp.Domain}\"");
        Assert.True(deliveredBySecond >= 1, "the second instance delivered none of the first one's leads, so nothing was tested");
        // Far inside the minute a caller would otherwise wait; generous for a loaded machine.
        Assert.True(answeredIn < TimeSpan.FromSeconds(40), $"answered after {answeredIn}");
    }
#endif

    [Fact]
    public async Task The_consent_callback_may_land_on_another_instance()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dataDir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        await using var first = new GatewayApp(amo, dataDir: dataDir);
        await using var second = new GatewayApp(amo, dataDir: dataDir);
        using var a = first.CreateKeyedClient();
        using var b = second.CreateKeyedClient();

        var redirect = await GatewayApp.ConsentRedirectAsync(a);
        var callback = await b.GetAsync("/oauth/callback" + redirect.Query);

        Assert.Equal(HttpStatusCode.OK, callback.StatusCode);
        Assert.Equal(1, amo.State.CodeGrants);
        Assert.Equal(HttpStatusCode.OK, (await a.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);
    }

    [Fact]
    public async Task Two_instances_keep_the_token_alive_with_one_refresh_per_rotation()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var dataDir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        var settings = new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "50" };
        await using var first = new GatewayApp(amo, clock, dataDir, settings);
        await using var second = new GatewayApp(amo, clock, dataDir, settings);
        await first.AuthorizeAsync();
        _ = second.CreateKeyedClient();

        // Sixty idle days, both instances running their keep-alive at the same moments.
        for (var step = 0; step < 60 * 4; step++)
        {
            clock.Advance(TimeSpan.FromHours(6));
            var runs = Task.WhenAll(first.Get<TokenKeepAlive>().RunOnceAsync(CancellationToken.None), second.Get<TokenKeepAlive>().RunOnceAsync(CancellationToken.None));

            // The loser waits for the winner's lease on the (fake) clock: let that clock tick until both are done.
            await clock.AdvanceUntilAsync(TimeSpan.FromMilliseconds(50), () => Task.FromResult(runs.IsCompleted), "both keep-alive runs");
            await runs;
        }

        // One rotation every seven days, as a single instance does: 8 in 60 days, not 16.
        Assert.Equal(8, amo.State.RefreshGrants);
        var token = await second.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None);
        Assert.Equal(TokenStates.Active, token!.State);
        Assert.Equal(HttpStatusCode.OK, (await second.CreateKeyedClient().PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);
    }

    [Fact]
    public async Task A_later_copy_of_the_same_tokens_file_on_another_instance_does_not_bring_back_a_rotated_pair()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var pair = amo.State.IssueTokens();
        var file = Path.Combine(Directory.CreateTempSubdirectory("gateway-tokens-").FullName, "tokens.json");
        await File.WriteAllTextAsync(file, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{pair.ExpiresAt.ToUnixTimeSeconds()}}}""");
        var dataDir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        var settings = new Dictionary<string, string?> { ["TOKEN_STORAGE_PATH"] = file, ["AMO_RATE_LIMIT"] = "50" };
        await using var first = new GatewayApp(amo, clock, dataDir, settings);
        _ = first.CreateKeyedClient();
        await first.Get<AmoTokenManager>().RefreshAsync(GatewayApp.Domain, RefreshTrigger.Admin, CancellationToken.None);

        // The second VPS received its copy of the same file later, so its mtime is newer than the imported one.
        File.SetLastWriteTimeUtc(file, TimeProvider.System.GetUtcNow().AddHours(1).UtcDateTime);
        await using var second = new GatewayApp(amo, clock, dataDir, settings);
        _ = second.CreateKeyedClient();

        var token = await second.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None);
        Assert.NotEqual(pair.RefreshToken, token!.RefreshToken);
        var refreshed = await second.Get<AmoTokenManager>().RefreshAsync(GatewayApp.Domain, RefreshTrigger.Admin, CancellationToken.None);
        Assert.Equal(TokenStates.Active, refreshed!.State);
        Assert.Equal(2, amo.State.RefreshGrants);
    }

    [Fact]
    public async Task An_idempotency_key_is_unique_across_instances()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dataDir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        await using var first = new GatewayApp(amo, dataDir: dataDir);
        await using var second = new GatewayApp(amo, dataDir: dataDir);
        await first.AuthorizeAsync();
        var clients = new[] { first.CreateKeyedClient(), second.CreateKeyedClient() };
        foreach (var client in clients)
        {
            client.DefaultRequestHeaders.Add("Idempotency-Key", "order-1001");
        }

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => clients[i % 2].PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)));

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted }));
        var ids = new HashSet<long>();
        foreach (var response in responses)
        {
            var envelope = await response.ReadObjectAsync();
            ids.Add(envelope["data"]!["id"]!.GetValue<long>());
        }

        Assert.Single(ids);
        await Eventually.TrueAsync(() => amo.State.Unsorted.Count == 1, "the one lead delivered");
        Assert.Single(amo.State.Unsorted);
    }
}
