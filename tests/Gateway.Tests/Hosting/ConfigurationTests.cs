using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Hosting;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task A_gateway_without_API_KEY_refuses_to_start_and_names_API_KEY()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());

        var failure = await StartupFailureOfAsync(new GatewayApp(amo, settings: new Dictionary<string, string?> { ["API_KEY"] = "" }));

        Assert.NotNull(failure);
        Assert.Contains("API_KEY", MessagesOf(failure), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_keep_alive_interval_longer_than_seven_days_is_refused_naming_it()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());

        var failure = await StartupFailureOfAsync(new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_KEEPALIVE_INTERVAL_SECONDS"] = "315360000" }));

        Assert.NotNull(failure);
        Assert.Contains("AMO_KEEPALIVE_INTERVAL_SECONDS", MessagesOf(failure), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_AMO_DOMAIN_that_is_not_an_amoCRM_or_Kommo_host_is_refused_naming_AMO_DOMAIN()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());

        var failure = await StartupFailureOfAsync(new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_DOMAIN"] = "example.com" }));

        Assert.NotNull(failure);
        Assert.Contains("AMO_DOMAIN", MessagesOf(failure), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_diagnostics_never_show_the_client_secret_and_shorten_the_client_id()
    {
        var options = GatewayApp.EmulatorOptionsFor();
        options.ClientId = "a1b2c3d4-e5f6-4711-8899-aabbccddeeff";
        options.ClientSecret = "Zq8vLr2mNp5tXw1yKc7dHf3gJs9bVe4u";
        await using var amo = await AmoEmulator.StartAsync(options);
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/diagnostics/config");

        var text = await response.Content.ReadAsStringAsync();
        var data = await ApiAssert.SuccessDataAsync(response);
        Assert.Equal(GatewayApp.Domain, data["domain"]?.GetValue<string>());
        var shownId = data["client_id"]!.GetValue<string>();
        Assert.NotEmpty(shownId);
        Assert.True(shownId.Length < options.ClientId.Length, $"client_id shown in full: {shownId}");
        Assert.DoesNotContain(options.ClientId, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Substrings(options.ClientSecret, 6), s => text.Contains(s, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Token_status_shows_no_token_material()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var pair = await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/diagnostics/token-status");

        var text = await response.Content.ReadAsStringAsync();
        var data = await ApiAssert.SuccessDataAsync(response);
        Assert.True(data["has_token"]!.GetValue<bool>());
        Assert.Equal(pair.ExpiresAt.ToUnixTimeSeconds(), data["expires_at"]!.GetValue<long>());
        Assert.DoesNotContain(Substrings(pair.AccessToken, 20).Concat(Substrings(pair.RefreshToken, 20)), s => text.Contains(s, StringComparison.Ordinal));
    }

    private static async Task<Exception?> StartupFailureOfAsync(GatewayApp app)
    {
        var failure = Record.Exception(() => app.CreateAnonymousClient().Dispose());

        // A host that failed while resolving its hosted services throws again from StopAsync on dispose; that is not under test.
        await Record.ExceptionAsync(async () => await app.DisposeAsync());
        return failure;
    }

    private static string MessagesOf(Exception exception)
    {
        var messages = new List<string>();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
            if (e is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.Select(inner => inner.Message));
            }
        }

        return string.Join(" | ", messages);
    }

    private static IEnumerable<string> Substrings(string secret, int length) =>
        Enumerable.Range(0, Math.Max(0, secret.Length - length + 1)).Select(i => secret.Substring(i, length));
}
