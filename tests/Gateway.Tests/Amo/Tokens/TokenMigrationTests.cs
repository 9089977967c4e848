using System.Net;
using Emulator;
using Gateway.Amo.Tokens;
using Gateway.Cli;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo.Tokens;

public sealed class TokenMigrationTests
{
    private static string WriteTokensFile(string dir, string access, string refresh, DateTimeOffset expiresAt, bool withBaseDomain = true)
    {
        var path = Path.Combine(dir, "tokens.json");
        var domain = withBaseDomain ? $""","base_domain": "{GatewayApp.Domain}" """ : "";
        File.WriteAllText(path, $$"""{"access_token": "{{access}}", "refresh_token": "{{refresh}}", "expires_at": {{expiresAt.ToUnixTimeSeconds()}}{{domain}}}""");
        return path;
    }

    [Fact]
    public async Task The_php_gateways_tokens_file_is_imported_at_startup()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var pair = amo.State.IssueTokens();
        var dir = Directory.CreateTempSubdirectory("tokens-").FullName;
        var file = WriteTokensFile(dir, pair.AccessToken, pair.RefreshToken, pair.ExpiresAt, withBaseDomain: false);
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["TOKEN_STORAGE_PATH"] = file });

        var response = await app.CreateKeyedClient().GetAsync("/api/v1/info/account");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, amo.State.RefreshGrants);
        Assert.Equal(pair.AccessToken, amo.State.Requests.Single(r => r.Path == "/api/v4/account").Bearer);
    }

    [Fact]
    public async Task A_restart_after_a_rotation_neither_refreshes_nor_reimports_the_unchanged_file()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var pair = amo.State.IssueTokens();
        var dir = Directory.CreateTempSubdirectory("tokens-").FullName;
        var settings = new Dictionary<string, string?> { ["TOKEN_STORAGE_PATH"] = WriteTokensFile(dir, pair.AccessToken, pair.RefreshToken, pair.ExpiresAt) };
        string dataDir;
        await using (var first = new GatewayApp(amo, clock, settings: settings))
        {
            dataDir = first.DataDir;
            clock.Advance(TimeSpan.FromHours(25));
            Assert.Equal(HttpStatusCode.OK, (await first.CreateKeyedClient().GetAsync("/api/v1/info/account")).StatusCode);
            Assert.Equal(1, amo.State.RefreshGrants);
        }

        await using var second = new GatewayApp(amo, clock, dataDir, settings);
        var response = await second.CreateKeyedClient().GetAsync("/api/v1/info/pipelines");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, amo.State.RefreshGrants);
        Assert.NotEqual(pair.AccessToken, amo.State.Requests.Last(r => r.Path == "/api/v4/leads/pipelines").Bearer);
    }

    [Fact]
    public async Task A_tokens_file_written_after_the_import_is_imported_again()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var first = amo.State.IssueTokens();
        var dir = Directory.CreateTempSubdirectory("tokens-").FullName;
        var file = WriteTokensFile(dir, first.AccessToken, first.RefreshToken, first.ExpiresAt);
        var settings = new Dictionary<string, string?> { ["TOKEN_STORAGE_PATH"] = file };
        string dataDir;
        await using (var app = new GatewayApp(amo, settings: settings))
        {
            dataDir = app.DataDir;
            _ = app.Services;
        }

        var second = amo.State.IssueTokens();
        WriteTokensFile(dir, second.AccessToken, second.RefreshToken, second.ExpiresAt);
        File.SetLastWriteTimeUtc(file, File.GetLastWriteTimeUtc(file).AddMinutes(1));
        await using var restarted = new GatewayApp(amo, dataDir: dataDir, settings: settings);
        await restarted.CreateKeyedClient().GetAsync("/api/v1/info/account");

        Assert.Equal(second.AccessToken, amo.State.Requests.Last(r => r.Path == "/api/v4/account").Bearer);
    }

    [Fact]
    public async Task The_tokens_import_verb_imports_a_file_and_the_status_verb_shows_no_token_material()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var pair = amo.State.IssueTokens();
        var file = WriteTokensFile(Directory.CreateTempSubdirectory("tokens-").FullName, pair.AccessToken, pair.RefreshToken, pair.ExpiresAt);
        var output = new StringWriter();
        var original = Console.Out;
        Console.SetOut(output);
        int importCode, statusCode;
        try
        {
            importCode = await GatewayCli.RunAsync(app.Services, ["tokens", "import", file]);
            statusCode = await GatewayCli.RunAsync(app.Services, ["tokens", "status"]);
        }
        finally
        {
            Console.SetOut(original);
        }

        Assert.Equal(0, importCode);
        Assert.Equal(0, statusCode);
        var text = output.ToString();
        Assert.Contains("\"state\": \"valid\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain(pair.AccessToken[^20..], text, StringComparison.Ordinal);
        Assert.DoesNotContain(pair.RefreshToken[^20..], text, StringComparison.Ordinal);
        var stored = await app.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None);
        Assert.Equal(pair.AccessToken, stored!.AccessToken);
    }

    [Fact]
    public async Task An_imported_refresh_token_is_as_old_as_the_files_updated_at_so_keep_alive_refreshes_it_at_once()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var pair = amo.State.IssueTokens();
        var file = Path.Combine(Directory.CreateTempSubdirectory("tokens-").FullName, "tokens.json");
        await File.WriteAllTextAsync(file, $$"""{"access_token":"{{pair.AccessToken}}","refresh_token":"{{pair.RefreshToken}}","expires_at":{{pair.ExpiresAt.ToUnixTimeSeconds()}},"updated_at":{{clock.GetUtcNow().AddDays(-30).ToUnixTimeSeconds()}}}""");
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["TOKEN_STORAGE_PATH"] = file });

        await app.Get<TokenKeepAlive>().RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, amo.State.RefreshGrants);
        var stored = await app.Get<TokenStore>().GetAsync(GatewayApp.Domain, CancellationToken.None);
        Assert.Equal(clock.GetUtcNow(), stored!.RefreshTokenIssuedAt);
    }

    [Fact]
    public async Task Without_updated_at_an_imported_refresh_token_is_as_old_as_the_file()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var pair = amo.State.IssueTokens();
        var file = WriteTokensFile(Directory.CreateTempSubdirectory("tokens-").FullName, pair.AccessToken, pair.RefreshToken, pair.ExpiresAt);
        File.SetLastWriteTimeUtc(file, clock.GetUtcNow().AddDays(-30).UtcDateTime);
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["TOKEN_STORAGE_PATH"] = file });

        await app.Get<TokenKeepAlive>().RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, amo.State.RefreshGrants);
    }
}
