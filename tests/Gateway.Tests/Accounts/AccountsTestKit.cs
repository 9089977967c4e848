using System.Net;
using Emulator;
using Gateway.Amo.Tokens;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Accounts;

// Two amoCRM accounts behind one gateway: A is the .env account (the emulator GatewayApp starts with), B a second
// emulator named in the accounts file, so each has its own tokens, limits and faults. Key "shop" (no account) sends
// to A, key "school" to B.
internal sealed class TwoAccounts : IAsyncDisposable
{
    public const string ShopKey = "shop-key-0123456789abcdef";
    public const string SchoolKey = "school-key-0123456789abcdef";
    public const string DomainB = "ikkinchi.amocrm.ru";
    public const long AccountIdB = 31_000_002;

    private TwoAccounts(AmoEmulator a, AmoEmulator b, GatewayApp app)
    {
        A = a;
        B = b;
        App = app;
    }

    public AmoEmulator A { get; }

    public AmoEmulator B { get; }

    public GatewayApp App { get; }

    public static EmulatorOptions SecondAccountOptions(int rateLimitPerSecond = 0) =>
        new() { RedirectUri = GatewayApp.RedirectUri, RateLimitPerSecond = rateLimitPerSecond, Subdomain = "ikkinchi", AccountId = AccountIdB };

    public static async Task<TwoAccounts> StartAsync(IDictionary<string, string?>? settings = null, string accountExtra = "", int rateLimitPerSecond = 0, bool withAccountsFile = true, TimeProvider? clock = null)
    {
        var a = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond));
        var b = await AmoEmulator.StartAsync(SecondAccountOptions(rateLimitPerSecond));
        var dataDir = Directory.CreateTempSubdirectory("gateway-accounts-").FullName;
        if (withAccountsFile)
        {
            WriteAccountsFile(dataDir, AccountEntry(b, accountExtra));
            WriteKeys(dataDir);
        }
        else
        {
            SecurityTestKit.WriteKeysFile(dataDir, SecurityTestKit.Entry("shop", ShopKey));
        }

        var app = new GatewayApp(a, clock, dataDir, settings);
        _ = app.Server;
        return new TwoAccounts(a, b, app);
    }

    public static void WriteKeys(string dataDir) =>
        SecurityTestKit.WriteKeysFile(dataDir, SecurityTestKit.Entry("shop", ShopKey), SecurityTestKit.Entry("school", SchoolKey, $"\"account\":\"{DomainB}\""));

    public static string AccountEntry(AmoEmulator b, string extra = "") =>
        $$"""{"domain":"{{DomainB}}","client_id":"{{b.Options.ClientId}}","client_secret":"{{b.Options.ClientSecret}}","base_url":"{{b.BaseUrl}}","auth_url":"{{new Uri(b.BaseUrl, "/oauth")}}"{{(extra.Length > 0 ? "," + extra : "")}}}""";

    public static string WriteAccountsFile(string dataDir, params string[] entries)
    {
        var path = Path.Combine(dataDir, "accounts.json");
        File.WriteAllText(path, $$"""{"accounts":[{{string.Join(",", entries)}}]}""");
        return path;
    }

    // A's, B's or any file's change is seen at the next check, a second on: mtimes moved on so a same-second rewrite counts.
    public static void Touch(string path, int generation) =>
        File.SetLastWriteTimeUtc(path, new DateTime(2030, 1, 1, 0, 0, generation, DateTimeKind.Utc));

    public HttpClient Shop => App.Client(ShopKey);

    public HttpClient School => App.Client(SchoolKey);

    // Stores a fresh pair for each account as consent would (expiresAt overrides what the gateway believes).
    public async Task AuthorizeBothAsync(DateTimeOffset? expiresAt = null)
    {
        await App.AuthorizeAsync(expiresAt);
        await AuthorizeBAsync(expiresAt);
    }

    public async Task AuthorizeBAsync(DateTimeOffset? expiresAt = null)
    {
        var pair = B.State.IssueTokens();
        await App.Get<TokenStore>().SaveAsync(DomainB, new Gateway.Amo.Tokens.TokenPair(pair.AccessToken, pair.RefreshToken, expiresAt ?? pair.ExpiresAt, DomainB, AmoAccountId: AccountIdB), false, "test", false, null, CancellationToken.None);
    }

    public static async Task<long> PostAsync(HttpClient client, string name)
    {
        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", $$$"""{"lead":{"name":"{{{name}}}"},"contact":{"phone":"+998901234567"}}""");
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted, $"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var envelope = await response.ReadObjectAsync();
        return (long)envelope["data"]!["id"]!;
    }

    public static async Task<string?> StatusAsync(HttpClient client, long id) =>
        (string?)(await ApiAssert.SuccessDataAsync(await client.GetAsync($"/api/v1/leads/{id}")))["status"];

    public static List<string> Names(AmoEmulator amo) => [.. amo.State.Leads.Select(l => l.Name ?? "")];

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}
