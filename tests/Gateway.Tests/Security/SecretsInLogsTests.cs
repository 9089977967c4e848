using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Security;

// Secrets and personal data never reach the logs, whatever path a request takes.
public sealed class SecretsInLogsTests
{
    [Fact]
    public async Task A_full_lifecycle_logs_no_token_secret_key_phone_or_email()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var encryptionKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["GATEWAY_ENCRYPTION_KEY"] = encryptionKey });
        using var client = app.CreateKeyedClient();
        var secrets = new List<string> { GatewayApp.ApiKey, amo.Options.ClientSecret, encryptionKey, "+998907654321", "secret.person@example.uz" };

        // Consent, a lead, an expiry with its refresh, a failing amoCRM, a lost refresh answer, a revocation.
        Assert.Equal(HttpStatusCode.OK, (await GatewayApp.ConsentAsync(client)).StatusCode);
        const string lead = """{"lead":{"name":"L"},"contact":{"name":"N","phone":"+998907654321","email":"secret.person@example.uz"},"comment":"c"}""";
        await client.PostJsonAsync("/api/v1/leads/unsorted", lead);
        clock.Advance(TimeSpan.FromHours(25));
        await client.PostJsonAsync("/api/v1/leads/unsorted", lead);
        amo.State.Outage = true;
        await client.PostJsonAsync("/api/v1/leads/unsorted", lead);
        amo.State.Outage = false;
        clock.Advance(TimeSpan.FromHours(25));
        amo.State.LoseNextRefreshAnswer = true;
        await client.GetAsync("/api/v1/info/account");
        amo.State.RevokeAllTokens();
        await client.GetAsync("/api/v1/info/pipelines");
        await client.GetAsync("/api/v1/leads/unsorted");
        await app.CreateAnonymousClient().GetAsync("/api/v1/info/account");

        secrets.AddRange(amo.State.Requests.Where(r => r.Bearer is not null).Select(r => r.Bearer!));
        secrets.AddRange(amo.State.Requests.Where(r => r.Path == "/oauth2/access_token").SelectMany(r => TokensIn(r.Body)));
        var lines = app.Logs.Lines;
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            foreach (var secret in secrets.Where(s => s.Length >= 8).Distinct())
            {
                Assert.False(line.Message.Contains(secret[^8..], StringComparison.Ordinal) && line.Message.Contains(secret, StringComparison.Ordinal),
                    $"a secret appeared in a {line.Level} log line of {line.Category}");
            }
        }
    }

    private static IEnumerable<string> TokensIn(string body)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(body);
        foreach (var name in new[] { "refresh_token", "code", "client_secret" })
        {
            if (json?[name]?.GetValue<string>() is { Length: > 0 } value)
            {
                yield return value;
            }
        }
    }
}
