using Emulator;
using Gateway.Amo.Tokens;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Infrastructure;

// The real gateway in-process (TestServer), talking over real loopback HTTP to a real emulator.
internal sealed class GatewayApp : WebApplicationFactory<Program>
{
    public const string ApiKey = "test-key-0123456789abcdef";
    public const string Domain = "emulator.amocrm.ru";
    public const string RedirectUri = "http://localhost/oauth/callback";

    private readonly AmoEmulator amo;
    private readonly Dictionary<string, string?> settings;

    public GatewayApp(AmoEmulator amo, TimeProvider? time = null, string? dataDir = null, IDictionary<string, string?>? settings = null)
    {
        this.amo = amo;
        Time = time;
        DataDir = dataDir ?? Directory.CreateTempSubdirectory("gateway-test-").FullName;
        this.settings = new Dictionary<string, string?>
        {
            ["API_KEY"] = ApiKey,
            ["DATA_DIR"] = DataDir,
            ["AMO_DOMAIN"] = Domain,
            ["AMO_CLIENT_ID"] = amo.Options.ClientId,
            ["AMO_CLIENT_SECRET"] = amo.Options.ClientSecret,
            ["AMO_REDIRECT_URI"] = RedirectUri,
            ["AMO_BASE_URL"] = amo.BaseUrl.ToString(),
            ["AMO_AUTH_URL"] = new Uri(amo.BaseUrl, "/oauth").ToString(),
            ["AMO_TIMEOUT_SECONDS"] = "5",
        };
        foreach (var (key, value) in TestDatabase.SettingsFor(DataDir))
        {
            this.settings[key] = value;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            this.settings[key] = value;
        }
    }

    public string DataDir { get; }

    public CapturedLogs Logs { get; } = new();

    public TimeProvider? Time { get; }

    public AmoEmulator Amo => amo;

    // Services a test adds after the gateway's own (an in-memory span exporter, say).
    public Action<IServiceCollection>? TestServices { get; init; }

    // No rate limit unless asked: a test that checks pacing asks for amoCRM's own 7/s (HTML 429s above it).
    public static EmulatorOptions EmulatorOptionsFor(int rateLimitPerSecond = 0) => new() { RedirectUri = RedirectUri, RateLimitPerSecond = rateLimitPerSecond };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Information);
            logging.AddFilter("Microsoft", LogLevel.Warning);
            logging.AddFilter("System", LogLevel.Warning);
            logging.ClearProviders();
            logging.AddProvider(Logs);
        });
        builder.ConfigureServices(services =>
        {
            if (Time is not null)
            {
                services.AddSingleton(Time);
            }

            TestServices?.Invoke(services);
        });
    }

    // Secrets a test made while running (a key created in the console): scanned for like the settings' ones.
    public List<string> MadeSecrets { get; } = [];

    public static readonly string[] SecretSettings = ["API_KEY", "AMO_CLIENT_SECRET", "AMO_LONG_LIVED_TOKEN", "METRICS_TOKEN", "ADMIN_PASSWORD", "GATEWAY_ENCRYPTION_KEY", "TELEGRAM_BOT_TOKEN"];

    // Every test's log lines, not only the secrets test's, are checked for what must never be logged.
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        var secrets = amo.State.IssuedSecrets
            .Append(amo.Options.ClientSecret)
            .Concat(SecretSettings.Select(name => settings.GetValueOrDefault(name) ?? ""))
            .Concat(MadeSecrets)
            .Where(s => s.Length >= 12)
            .ToList();
        var leaks = Logs.Lines.Where(line => secrets.Any(secret => line.Message.Contains(secret, StringComparison.Ordinal))).ToList();
        Assert.True(leaks.Count == 0, "a secret was logged: " + string.Join(" | ", leaks.Select(l => $"{l.Category}: {Redact(l.Message, secrets)}")));
    }

    private static string Redact(string line, IEnumerable<string> secrets) =>
        secrets.Aggregate(line, (text, secret) => text.Replace(secret, "<secret>", StringComparison.Ordinal));

    public HttpClient CreateKeyedClient()
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Add("X-API-KEY", ApiKey);
        return client;
    }

    public HttpClient CreateAnonymousClient() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    // The browser's part of consent: /oauth/authorize (by an admin: API_KEY unless the client has a key of its own), the
    // emulator's approval (in the account named, else the emulator's main one), and the redirect back (not yet followed).
    public static async Task<Uri> ConsentRedirectAsync(HttpClient gateway, string? amoAccount = null)
    {
        using var start = new HttpRequestMessage(HttpMethod.Get, "/oauth/authorize");
        if (!gateway.DefaultRequestHeaders.Contains("X-API-KEY"))
        {
            start.Headers.Add("X-API-KEY", ApiKey);
        }

        var authorize = await gateway.SendAsync(start);
        Assert.Equal(System.Net.HttpStatusCode.Redirect, authorize.StatusCode);
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var consent = await browser.GetAsync(amoAccount is null ? authorize.Headers.Location : new Uri(authorize.Headers.Location + "&account=" + Uri.EscapeDataString(amoAccount)));
        Assert.Equal(System.Net.HttpStatusCode.Redirect, consent.StatusCode);
        return consent.Headers.Location!;
    }

    // Consent all the way through the gateway's callback.
    public static async Task<HttpResponseMessage> ConsentAsync(HttpClient gateway) =>
        await gateway.GetAsync("/oauth/callback" + (await ConsentRedirectAsync(gateway)).Query);

    // Stores a fresh pair from the emulator as if consent had happened (the account id confirmed, as consent does);
    // expiresAt overrides what the gateway believes.
    public async Task<Emulator.TokenPair> AuthorizeAsync(DateTimeOffset? expiresAt = null)
    {
        var pair = amo.State.IssueTokens();
        await Get<TokenStore>().SaveAsync(Domain.ToLowerInvariant(), new Gateway.Amo.Tokens.TokenPair(pair.AccessToken, pair.RefreshToken, expiresAt ?? pair.ExpiresAt, Domain, AmoAccountId: amo.State.MainAccount.Id), false, "test", false, null, CancellationToken.None);
        return pair;
    }
}
