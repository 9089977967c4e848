using System.Diagnostics;
using Gateway.Hosting;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Hosting;

public sealed class StartupConfigurationTests
{
    private static readonly Dictionary<string, string?> Valid = new()
    {
        ["API_KEY"] = GatewayApp.ApiKey,
        ["AMO_DOMAIN"] = GatewayApp.Domain,
        ["AMO_CLIENT_ID"] = "client-id-123",
        ["AMO_CLIENT_SECRET"] = "very-secret-client-secret",
        ["AMO_REDIRECT_URI"] = "https://gw.example.uz/oauth/callback",
    };

    private static async Task<(int ExitCode, string StdErr, string StdOut)> RunAsync(Dictionary<string, string?> environment, string? dotEnv = null)
    {
        var dir = Directory.CreateTempSubdirectory("gateway-config-").FullName;
        if (dotEnv is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(dir, ".env"), dotEnv);
        }

        // The required settings removed from what the child inherits, then the case's own applied over that.
        var settings = new[] { "API_KEY", "AMO_DOMAIN", "AMO_CLIENT_ID", "AMO_CLIENT_SECRET", "AMO_REDIRECT_URI" }
            .Select(name => new KeyValuePair<string, string?>(name, null))
            .Concat(environment);
        var info = GatewayProcess.StartInfo(["--urls", "http://127.0.0.1:0"], settings, dir);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stderr, await stdout);
    }

    [Fact]
    [Trait("Kind", "Process")]
    public async Task A_missing_API_KEY_stops_startup_with_one_line_naming_it()
    {
        var environment = new Dictionary<string, string?>(Valid);
        environment.Remove("API_KEY");

        var (exitCode, stderr, _) = await RunAsync(environment);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Configuration error:", line, StringComparison.Ordinal);
        Assert.Contains("API_KEY is required", line, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Kind", "Process")]
    public async Task A_domain_that_is_not_an_amocrm_host_stops_startup_without_printing_the_secret()
    {
        var environment = new Dictionary<string, string?>(Valid) { ["AMO_DOMAIN"] = "example.com" };

        var (exitCode, stderr, stdout) = await RunAsync(environment);

        Assert.Equal(1, exitCode);
        Assert.Contains("AMO_DOMAIN must be an amoCRM or Kommo account host", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret-client-secret", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Kind", "Process")]
    public async Task A_malformed_number_names_its_setting()
    {
        var environment = new Dictionary<string, string?>(Valid) { ["AMO_RATE_LIMIT"] = "seven" };

        var (exitCode, stderr, _) = await RunAsync(environment);

        Assert.Equal(1, exitCode);
        Assert.Contains("AMO_RATE_LIMIT must be a whole number", stderr, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Kind", "Process")]
    public async Task Settings_come_from_the_dotenv_file_and_the_environment_wins()
    {
        var dotEnv = """
            # the old gateway's .env
            API_KEY="from-dotenv-key-123"
            AMO_DOMAIN='x.amocrm.ru'
            AMO_CLIENT_ID=client-id-123
            AMO_CLIENT_SECRET=very-secret-client-secret # trailing comment
            AMO_REDIRECT_URI=https://gw.example.uz/oauth/callback
            AMO_RATE_LIMIT=5
            """;

        var (exitCode, stderr, _) = await RunAsync(new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "seven" }, dotEnv);

        // Everything valid came from the file; the environment's bad AMO_RATE_LIMIT beat the file's good one.
        Assert.Equal(1, exitCode);
        Assert.Equal("Configuration error: AMO_RATE_LIMIT must be a whole number", stderr.Trim());
    }

    [Fact]
    public void The_dotenv_parser_reads_quotes_comments_and_export()
    {
        var values = DotEnvFile.Parse([
            "# comment",
            "API_KEY=\"quoted # not a comment\"",
            "export AMO_DOMAIN=x.amocrm.ru",
            "LOG_ERRORS=true # trailing",
            "EMPTY=",
            "garbage line",
            "SINGLE='single'",
        ]);

        Assert.Equal("quoted # not a comment", values["API_KEY"]);
        Assert.Equal("x.amocrm.ru", values["AMO_DOMAIN"]);
        Assert.Equal("true", values["LOG_ERRORS"]);
        Assert.Equal("", values["EMPTY"]);
        Assert.Equal("single", values["SINGLE"]);
        Assert.Equal(5, values.Count);
    }
}
