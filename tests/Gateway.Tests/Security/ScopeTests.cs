using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Security;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Security;

// Issue 12, finding 4: a key's scopes decide what it may do; a key in a web page may only create leads.
public sealed class ScopeTests
{
    private const string SiteKey = "site-key-aaaaaaaaaaaaaaaa";
    private const string BotKey = "bot-key-bbbbbbbbbbbbbbbbbb";
    private const string CrmKey = "crm-key-cccccccccccccccccc";
    private const string OpsKey = "ops-key-dddddddddddddddddd";
    private const string Site = "https://mysite.uz";

    private static GatewayApp AppWithKeys(AmoEmulator amo)
    {
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir,
            SecurityTestKit.Entry("website", SiteKey, $$"""  "cors_origins":["{{Site}}"]  """),
            SecurityTestKit.Entry("bot", BotKey),
            SecurityTestKit.Entry("crm", CrmKey),
            SecurityTestKit.Entry("ops", OpsKey, """ "scopes":["admin"] """));
        return new GatewayApp(amo, dataDir: dir);
    }

    private static async Task AssertNeedsScopeAsync(HttpResponseMessage response, string scope)
    {
        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.Forbidden, $"Forbidden: this needs the \"{scope}\" scope");
        Assert.Equal(scope, details!["required_scope"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_website_key_creates_leads_and_reads_nothing_back_even_from_curl_without_an_origin()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo);
        await app.AuthorizeAsync();
        using var bot = app.Client(BotKey);
        var botLead = (await ApiAssert.SuccessDataAsync(await bot.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)))["id"]!.GetValue<long>();
        using var site = app.Client(SiteKey);

        var created = await site.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        await AssertNeedsScopeAsync(await site.GetAsync("/api/v1/diagnostics/config"), Scopes.Admin);
        await AssertNeedsScopeAsync(await site.GetAsync("/api/v1/info/account"), Scopes.Read);
        await AssertNeedsScopeAsync(await site.GetAsync("/api/v1/leads/"), Scopes.Read);
        await AssertNeedsScopeAsync(await site.GetAsync($"/api/v1/leads/{botLead}"), Scopes.Read);
        await AssertNeedsScopeAsync(await site.PostAsync("/api/v1/leads/retry-failed", null), Scopes.Admin);
        await AssertNeedsScopeAsync(await site.PostAsync($"/api/v1/leads/{botLead}/retry", null), Scopes.Admin);
        Assert.Equal(HttpStatusCode.Unauthorized, (await site.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task A_read_key_sees_account_info_and_only_the_leads_it_created_itself()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo);
        await app.AuthorizeAsync();
        using var bot = app.Client(BotKey);
        using var crm = app.Client(CrmKey);
        var botLead = (await ApiAssert.SuccessDataAsync(await bot.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)))["id"]!.GetValue<long>();
        var crmLead = (await ApiAssert.SuccessDataAsync(await crm.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)))["id"]!.GetValue<long>();

        var info = await crm.GetAsync("/api/v1/info/pipelines");
        var own = await crm.GetAsync($"/api/v1/leads/{crmLead}");
        var other = await crm.GetAsync($"/api/v1/leads/{botLead}");
        var list = await ApiAssert.SuccessDataAsync(await crm.GetAsync("/api/v1/leads/"));
        var everything = await ApiAssert.SuccessDataAsync(await app.CreateKeyedClient().GetAsync("/api/v1/leads/"));

        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        await ApiAssert.FailureAsync(other, HttpStatusCode.NotFound, $"Lead {botLead} not found");
        Assert.Equal([crmLead], list["leads"]!.AsArray().Select(l => l!["id"]!.GetValue<long>()));
        Assert.Equal([botLead, crmLead], everything["leads"]!.AsArray().Select(l => l!["id"]!.GetValue<long>()));
        await AssertNeedsScopeAsync(await crm.GetAsync("/api/v1/diagnostics/queue"), Scopes.Admin);
        await AssertNeedsScopeAsync(await crm.PostAsync($"/api/v1/leads/{crmLead}/retry", null), Scopes.Admin);
    }

    [Fact]
    public async Task A_key_with_the_admin_scope_reads_diagnostics_scrapes_metrics_and_sees_every_lead()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo);
        await app.AuthorizeAsync();
        var botLead = (await ApiAssert.SuccessDataAsync(await app.Client(BotKey).PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)))["id"]!.GetValue<long>();
        using var ops = app.Client(OpsKey);
        using var opsBearer = app.Client();
        opsBearer.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", OpsKey);

        Assert.Equal(HttpStatusCode.OK, (await ops.GetAsync("/api/v1/diagnostics/config")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ops.GetAsync($"/api/v1/leads/{botLead}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ops.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await opsBearer.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Client(CrmKey).GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task The_keys_hash_command_writes_the_scopes_it_is_given_and_refuses_an_unknown_one()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await ApiKeysCli.RunAsync(["keys", "hash", "ops", "--scopes", "read,admin"], output, error);
        var refused = await ApiKeysCli.RunAsync(["keys", "hash", "ops", "--scopes", "root"], output, error);

        Assert.Equal(0, exit);
        var entry = JsonNode.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1])!;
        Assert.Equal(["read", "admin"], entry["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal(2, refused);
        Assert.Contains("--scopes", error.ToString(), StringComparison.Ordinal);
    }
}
