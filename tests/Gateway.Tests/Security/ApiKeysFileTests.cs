using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Security;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Security;

public sealed class ApiKeysFileTests
{
    private const string SiteKey = "site-key-aaaaaaaaaaaaaaaa";
    private const string BotKey = "bot-key-bbbbbbbbbbbbbbbbbb";

    private static GatewayApp AppWithKeys(AmoEmulator amo, TestTimeProvider? clock = null, IDictionary<string, string?>? settings = null, params string[] entries)
    {
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, entries);
        return new GatewayApp(amo, clock, dir, settings);
    }

    [Fact]
    public async Task A_key_from_the_keys_file_is_let_through_and_API_KEY_still_works()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo, entries: SecurityTestKit.Entry("website", SiteKey));

        var withFileKey = await app.Client(SiteKey).GetAsync("/api/v1/leads/");
        var withApiKey = await app.CreateKeyedClient().GetAsync("/api/v1/leads/");
        var withHashAsKey = await app.Client(SecurityTestKit.Sha256(SiteKey)).GetAsync("/api/v1/leads/");

        Assert.Equal(HttpStatusCode.OK, withFileKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withApiKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, withHashAsKey.StatusCode);
    }

    [Fact]
    public async Task A_rewritten_keys_file_is_used_within_a_second_without_a_restart()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo, clock, entries: SecurityTestKit.Entry("website", SiteKey));
        using var site = app.Client(SiteKey);
        using var bot = app.Client(BotKey);
        Assert.Equal(HttpStatusCode.OK, (await site.GetAsync("/api/v1/leads/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bot.GetAsync("/api/v1/leads/")).StatusCode);

        SecurityTestKit.WriteKeysFile(app.DataDir, SecurityTestKit.Entry("bot", BotKey));
        File.SetLastWriteTimeUtc(Path.Combine(app.DataDir, "api-keys.json"), new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(HttpStatusCode.OK, (await bot.GetAsync("/api/v1/leads/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await site.GetAsync("/api/v1/leads/")).StatusCode);
        Assert.Contains(app.Logs.Lines, l => l.Message.Contains("loaded: 1 keys (bot)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bad_rewrite_keeps_the_old_keys_and_logs_an_error_once()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo, clock, entries: SecurityTestKit.Entry("website", SiteKey));
        using var site = app.Client(SiteKey);
        Assert.Equal(HttpStatusCode.OK, (await site.GetAsync("/api/v1/leads/")).StatusCode);

        await File.WriteAllTextAsync(Path.Combine(app.DataDir, "api-keys.json"), """{"keys":[{"name":"website","sha256":"not-hex"}""");
        for (var i = 0; i < 3; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(HttpStatusCode.OK, (await site.GetAsync("/api/v1/leads/")).StatusCode);
        }

        var error = Assert.Single(app.Logs.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error);
        Assert.Contains("api-keys.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("previous 1 keys stay in use", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"keys":[{"name":"a","sha256":"abc"}]}""", "keys[0].sha256")]
    [InlineData("""{"keys":[{"name":"a","key":"plaintext-key-123"}]}""", "unknown property \"key\"")]
    [InlineData("""{"keys":[{"name":"default","sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}""", "keys[0].name")]
    [InlineData("""{"keys":[{"name":"admin","sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}""", "keys[0].name")]
    [InlineData("""{"keys":[{"name":"a","sha256":"0000000000000000000000000000000000000000000000000000000000000000","cors_origins":["https://a.uz/path"]}]}""", "keys[0].cors_origins")]
    [InlineData("""{"keys":[{"name":"a","sha256":"0000000000000000000000000000000000000000000000000000000000000000","rate_limit_per_minute":0}]}""", "rate_limit_per_minute")]
    [InlineData("""{"keys":[{"name":"a","sha256":"0000000000000000000000000000000000000000000000000000000000000000","account":"other.amocrm.ru"}]}""", "keys[0].account")]
    [InlineData("""{"keys":[{"name":"a","sha256":"0000000000000000000000000000000000000000000000000000000000000000","scopes":["leads","root"]}]}""", "keys[0].scopes")]
    [InlineData("""{"keys":[{"name":"a","sha256":"0000000000000000000000000000000000000000000000000000000000000000","scopes":[]}]}""", "keys[0].scopes")]
    [InlineData("""[1,2""", "not valid JSON")]
    [InlineData("""[]""", "\"keys\"")]
    public async Task A_bad_keys_file_stops_the_in_process_host_naming_the_file_and_the_problem(string content, string problem)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        var path = Path.Combine(dir, "api-keys.json");
        await File.WriteAllTextAsync(path, content);
        await using var app = new GatewayApp(amo, dataDir: dir);

        var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        var message = Gateway.Hosting.StartupFailure.Describe(error);
        Assert.NotNull(message);
        Assert.StartsWith("API_KEYS_FILE", message, StringComparison.Ordinal);
        Assert.Contains(path, message, StringComparison.Ordinal);
        Assert.Contains(problem, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lead_defaults_of_a_key_fill_the_source_pipeline_and_tags_the_request_left_out()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo, entries: SecurityTestKit.Entry("landing", SiteKey,
            $$"""  "source":"landing-uz","pipeline_id":{{EmulatorSeed.SecondPipelineId}},"tags":["landing","spring"]  """));
        await app.AuthorizeAsync();
        using var client = app.Client(SiteKey);

        var defaulted = await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);
        var explicitOnes = await client.PostJsonAsync("/api/v1/leads/unsorted",
            $$$"""{"source":"own","pipeline_id":{{{EmulatorSeed.MainPipelineId}}},"lead":{"name":"N","tags":["mine"]},"contact":{"phone":"+998901234567"}}""");
        var withApiKey = await app.CreateKeyedClient().PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);

        Assert.Equal(HttpStatusCode.OK, defaulted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, explicitOnes.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withApiKey.StatusCode);
        Assert.Equal(3, amo.State.Unsorted.Count);
        var first = amo.State.Unsorted[0].Item;
        Assert.Equal("landing-uz", first["source_name"]!.GetValue<string>());
        Assert.Equal(EmulatorSeed.SecondPipelineId, first["pipeline_id"]!.GetValue<long>());
        ApiAssert.SameJson("""[{"name":"landing"},{"name":"spring"}]""", first["_embedded"]!["leads"]![0]!["_embedded"]!["tags"]);
        var second = amo.State.Unsorted[1].Item;
        Assert.Equal("own", second["source_name"]!.GetValue<string>());
        Assert.Equal(EmulatorSeed.MainPipelineId, second["pipeline_id"]!.GetValue<long>());
        ApiAssert.SameJson("""[{"name":"mine"}]""", second["_embedded"]!["leads"]![0]!["_embedded"]!["tags"]);
        Assert.Equal("gateway", amo.State.Unsorted[2].Item["source_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_key_name_is_the_request_log_scope_and_the_key_itself_is_never_logged()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo, entries: SecurityTestKit.Entry("website", SiteKey, "\"rate_limit_per_minute\":1"));
        var logs = new ScopedLogs();
        var factory = app.WithPeers(logs);
        using var client = factory.Client(SiteKey);

        await client.GetAsync("/api/v1/leads/");
        var limited = await client.GetAsync("/api/v1/leads/");

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var line = Assert.Single(logs.Lines, l => l.Message.Contains("over its limit", StringComparison.Ordinal));
        Assert.Contains(new KeyValuePair<string, object?>("ApiKey", "website"), line.Scope);
        Assert.DoesNotContain(logs.Lines, l => l.Message.Contains(SiteKey, StringComparison.Ordinal) || l.Scope.Any(s => s.Value?.ToString()?.Contains(SiteKey, StringComparison.Ordinal) == true));
    }

    [Fact]
    public async Task The_keys_hash_command_prints_a_new_key_once_and_an_entry_that_lets_it_in()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await ApiKeysCli.RunAsync(["keys", "hash", "crm-bot"], output, error);

        Assert.Equal(0, exit);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var key = lines[1];
        var entry = JsonNode.Parse(lines[^1])!;
        Assert.True(key.Length >= 40, key);
        Assert.Equal("crm-bot", entry["name"]!.GetValue<string>());
        Assert.DoesNotContain(key, lines[^1], StringComparison.Ordinal);
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = AppWithKeys(amo, entries: lines[^1]);
        Assert.Equal(HttpStatusCode.OK, (await app.Client(key).GetAsync("/api/v1/leads/")).StatusCode);
    }
}
