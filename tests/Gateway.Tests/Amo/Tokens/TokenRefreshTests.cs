using System.Net;
using System.Net.Sockets;
using Emulator;
using Gateway.Amo.Tokens;
using Gateway.Data;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo.Tokens;

public sealed class TokenRefreshTests
{
    private const string RefreshLease = "token-refresh:" + GatewayApp.Domain;
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

    [Fact]
    public async Task A_refresh_whose_connection_never_opens_is_tried_again_later_instead_of_requiring_reauthorization()
    {
        using var blackHole = BlackHole.Open();
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?>
        {
            ["AMO_BASE_URL"] = blackHole.Url.ToString(),
            ["AMO_TIMEOUT_SECONDS"] = "1",
        });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        clock.Advance(TimeSpan.FromHours(25));

        var response = await client.GetAsync("/api/v1/info/account");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var status = (await (await client.GetAsync("/api/v1/diagnostics/token-status")).ReadObjectAsync())["data"]!;
        Assert.Equal("expired", (string?)status["state"]);
        Assert.Equal("unreachable", (string?)status["last_refresh_outcome"]);
        Assert.NotNull((long?)status["next_refresh_attempt_at"]);
    }

    [Fact]
    public async Task A_refresh_answer_without_a_refresh_token_requires_reauthorization_instead_of_being_saved()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        clock.Advance(TimeSpan.FromHours(25));
        amo.State.EnqueueResponse("/oauth2/access_token", 200, """{"token_type":"Bearer","expires_in":86400,"access_token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}""", "application/json");

        var response = await client.GetAsync("/api/v1/info/account");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var status = (await (await client.GetAsync("/api/v1/diagnostics/token-status")).ReadObjectAsync())["data"]!;
        Assert.Equal("reauthorization_required", (string?)status["state"]);
        Assert.Equal("answer_lost", (string?)status["last_refresh_outcome"]);
    }

    [Fact]
    public async Task During_the_backoff_a_401_is_answered_at_once_even_while_another_process_holds_the_refresh_lease()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        for (var i = 0; i < 3; i++)
        {
            amo.State.EnqueueResponse("/api/v4/account", 401, Unauthorized, "application/problem+json");
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/info/account")).StatusCode);
        Assert.True(await app.Get<LeaseStore>().TryAcquireAsync(RefreshLease, "another-process", TimeSpan.FromHours(1), CancellationToken.None));

        var response = await client.GetAsync("/api/v1/info/account");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(1, amo.State.RefreshGrants);
    }

    [Fact]
    public async Task A_token_saved_while_a_refresh_waits_for_its_rate_limit_slot_is_used_instead_of_being_overwritten()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.EnqueueResponse("/api/v4/account", 401, Unauthorized, "application/problem+json");

        // The 401'd call took the only slot of this second, so the refresh that follows waits about a second for its own.
        var request = client.GetAsync("/api/v1/info/account");
        await Eventually.TrueAsync(() => RefreshLeaseHeldAsync(app), "the refresh to take its lease");
        var other = amo.State.IssueTokens();
        await app.Get<TokenStore>().SaveAsync(GatewayApp.Domain, new Gateway.Amo.Tokens.TokenPair(other.AccessToken, other.RefreshToken, other.ExpiresAt, GatewayApp.Domain), false, "another-process", false, null, CancellationToken.None);
        var response = await request;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, amo.State.RefreshGrants);
        Assert.Equal(other.AccessToken, amo.State.Requests.Last(r => r.Path == "/api/v4/account").Bearer);
        Assert.Equal(other.AccessToken, (await app.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None))!.AccessToken);
    }

    [Fact]
    public async Task A_tokens_file_imported_while_a_refresh_is_in_flight_is_saved_after_the_refresh_instead_of_being_overwritten()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var store = app.Get<TokenStore>();
        var imported = amo.State.IssueTokens();
        var file = Path.Combine(Directory.CreateTempSubdirectory("tokens-").FullName, "tokens.json");
        await File.WriteAllTextAsync(file, $$"""{"access_token":"{{imported.AccessToken}}","refresh_token":"{{imported.RefreshToken}}","expires_at":{{imported.ExpiresAt.ToUnixTimeSeconds()}}}""");
        clock.Advance(TimeSpan.FromHours(25));
        amo.State.Delay = TimeSpan.FromMilliseconds(500);

        var request = client.GetAsync("/api/v1/info/account");
        await Eventually.TrueAsync(async () => (await store.GetAsync(GatewayApp.Domain, CancellationToken.None))!.RefreshStartedAt is not null, "the refresh to be on its way");
        var import = await app.Get<TokenImporter>().ImportFileAsync(file, force: true, CancellationToken.None);
        await request;

        Assert.True(import.Imported, import.Message);
        Assert.Equal(1, amo.State.RefreshGrants);
        var stored = await store.GetAsync(GatewayApp.Domain, CancellationToken.None);
        Assert.Equal(imported.AccessToken, stored!.AccessToken);
        Assert.Equal("imported", stored.LastRefreshOutcome);
    }

    private static async Task<bool> RefreshLeaseHeldAsync(GatewayApp app)
    {
        await using var connection = await app.Get<Database>().OpenAsync(CancellationToken.None);
        return await Sql.ScalarInt64Async(connection, "SELECT COUNT(*) FROM leases WHERE name = @name", null, [("name", RefreshLease)], CancellationToken.None) == 1;
    }

    // A listener whose accept queue is full: the kernel drops further SYNs, like a firewall that swallows them.
    private sealed class BlackHole : IDisposable
    {
        private readonly Socket listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly List<Socket> fillers = [];

        public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}");

        // Connects fillers until one's handshake does not complete: the kernel has started dropping SYNs.
        // Poll is a kernel wait, so a busy thread pool cannot make a completed handshake look like a dropped one.
        public static BlackHole Open()
        {
            var hole = new BlackHole();
            hole.listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            hole.listener.Listen(1);
            while (true)
            {
                Assert.True(hole.fillers.Count < 100, "the listener's accept queue never filled up");
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                hole.fillers.Add(filler);
                try
                {
                    filler.Connect(hole.listener.LocalEndPoint!);
                    continue;
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                }
                catch (SocketException)
                {
                    return hole; // refused: some systems reset instead of dropping, which is as good
                }

                if (!filler.Poll(TimeSpan.FromMilliseconds(500), SelectMode.SelectWrite))
                {
                    return hole;
                }
            }
        }

        public void Dispose()
        {
            foreach (var filler in fillers)
            {
                filler.Dispose();
            }

            listener.Dispose();
        }
    }
}
