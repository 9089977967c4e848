using System.Net;
using System.Net.Sockets;
using Emulator;
using Gateway.Amo.Tokens;
using Gateway.Cli;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo.Consent;

// Issue 12, finding 8: a host that comes from data gets neither the client secret nor a bearer token. Without
// AMO_BASE_URL only *.amocrm.ru, *.amocrm.com and *.kommo.com are account hosts; a listener stands in for the foreign one.
public sealed class AccountHostTests
{
    private static async Task<(int Exit, string Output, string Error)> CliAsync(GatewayApp app, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await GatewayCli.RunAsync(app.Services, args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    // The gateway as deployed: no AMO_BASE_URL, so each call goes to the host its data names.
    private static GatewayApp DirectApp(AmoEmulator amo, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?> { ["AMO_BASE_URL"] = null };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return new GatewayApp(amo, settings: settings);
    }

    [Fact]
    public async Task Tokens_exchange_with_a_foreign_referer_is_refused_in_one_line_before_any_connection()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var foreign = ForeignHost.Start();
        await using var app = DirectApp(amo);

        var (exit, _, error) = await CliAsync(app, "tokens", "exchange", "def50200code", "--referer", foreign.HostAndPort);
        var (namedExit, _, namedError) = await CliAsync(app, "tokens", "exchange", "def50200code", "--referer", "localhost");

        Assert.Equal(1, exit);
        Assert.Equal($"Exchange refused: {foreign.HostAndPort} is not a host name (expected an account host such as mycompany.amocrm.ru).", error.Trim());
        Assert.Equal(1, namedExit);
        Assert.Equal("Exchange refused: localhost is not an amoCRM or Kommo account host (*.amocrm.ru, *.amocrm.com, *.kommo.com; set AMO_BASE_URL to use another).", namedError.Trim());
        Assert.Equal(0, foreign.Connections);
    }

    [Fact]
    public async Task A_tokens_json_with_a_foreign_base_domain_is_not_imported_and_nothing_is_sent_there()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var foreign = ForeignHost.Start();
        var pair = amo.State.IssueTokens();
        var file = Path.Combine(Directory.CreateTempSubdirectory("tokens-").FullName, "tokens.json");
        await File.WriteAllTextAsync(file, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{pair.ExpiresAt.ToUnixTimeSeconds()}},"base_domain":"{{foreign.HostAndPort}}"}""");
        await using var app = DirectApp(amo, new Dictionary<string, string?> { ["TOKEN_STORAGE_PATH"] = file });
        using var client = app.CreateKeyedClient();

        var (exit, output, _) = await CliAsync(app, "tokens", "import", file, "--force");
        var lead = await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);

        Assert.Equal(1, exit);
        Assert.Equal($"Not imported: the tokens file's base_domain is refused: {foreign.HostAndPort} is not a host name (expected an account host such as mycompany.amocrm.ru).", output.Trim());
        Assert.Contains(app.Logs.Lines, l => l.Message.Contains("base_domain refused", StringComparison.Ordinal));
        Assert.Null(await app.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Accepted, lead.StatusCode);
        Assert.Equal(0, foreign.Connections);
    }

    [Fact]
    public async Task A_stored_token_with_a_foreign_base_domain_gets_no_bearer_call_and_no_refresh_there()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var foreign = ForeignHost.Start();
        await using var app = DirectApp(amo);
        using var client = app.CreateKeyedClient();
        var pair = amo.State.IssueTokens();
        // As an older version stored it from a tokens.json it did not check.
        await app.Get<TokenStore>().SaveAsync(GatewayApp.Domain, new Gateway.Amo.Tokens.TokenPair(pair.AccessToken, pair.RefreshToken, pair.ExpiresAt, foreign.HostAndPort), false, "imported", false, null, CancellationToken.None);

        var lead = await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);
        var info = await client.GetAsync("/api/v1/info/account");
        var (refresh, _, _) = await CliAsync(app, "tokens", "refresh", "--force");

        Assert.Equal(HttpStatusCode.Accepted, lead.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, info.StatusCode);
        Assert.Equal(1, refresh);
        Assert.Equal(0, foreign.Connections);
    }

    [Fact]
    public async Task A_callback_referer_that_is_not_an_account_host_is_refused_before_any_connection()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var foreign = ForeignHost.Start();
        await using var app = DirectApp(amo);
        using var client = app.CreateKeyedClient();
        var redirect = System.Web.HttpUtility.ParseQueryString((await GatewayApp.ConsentRedirectAsync(client)).Query);

        var response = await client.GetAsync($"/oauth/callback?code={redirect["code"]}&state={redirect["state"]}&referer={foreign.HostAndPort}");

        await ApiAssert.FailureAsync(response, HttpStatusCode.BadRequest, "Invalid referer: not an amoCRM or Kommo account host");
        Assert.Equal(0, foreign.Connections);
    }

    // A TCP listener that only counts who knocks: a TLS ClientHello, a plain request, anything.
    private sealed class ForeignHost : IAsyncDisposable
    {
        private readonly TcpListener listener;
        private readonly Task accepting;
        private int connections;

        private ForeignHost(TcpListener listener)
        {
            this.listener = listener;
            accepting = AcceptAsync();
        }

        public string HostAndPort => $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

        public int Connections => Volatile.Read(ref connections);

        public static ForeignHost Start()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new ForeignHost(listener);
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    using var socket = await listener.AcceptSocketAsync();
                    Interlocked.Increment(ref connections);
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            listener.Stop();
            await accepting;
        }
    }
}
