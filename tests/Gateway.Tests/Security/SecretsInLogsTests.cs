using System.Net;
using System.Text.Json.Nodes;
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

    [Fact]
    public async Task Signing_in_and_out_logs_neither_the_admin_password_nor_the_session_cookie_nor_its_anti_forgery_token()
    {
        const string password = "admin-password-0123456789";
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["ADMIN_PASSWORD"] = password, ["BAD_KEY_LIMIT"] = "2" });
        using var browser = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        static FormUrlEncodedContent Form(string field, string value) => new(new Dictionary<string, string> { [field] = value });

        // A near miss, a sign-in, a session in use (read, write without and with its token), a sign-out, the ended cookie again.
        await browser.PostAsync("/admin/login", Form("password", password + "x"));
        var login = await browser.PostAsync("/admin/login", Form("password", password));
        var setCookie = login.Headers.GetValues("Set-Cookie").Single();
        var cookie = setCookie["gateway_admin=".Length..setCookie.IndexOf(';', StringComparison.Ordinal)];
        async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? csrf = null)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Add("Cookie", "gateway_admin=" + cookie);
            if (csrf is not null)
            {
                request.Headers.Add("X-Gateway-Csrf", csrf);
            }

            return await browser.SendAsync(request);
        }

        var session = JsonNode.Parse(await (await SendAsync(HttpMethod.Get, "/api/v1/admin/session")).Content.ReadAsStringAsync())!;
        var csrf = session["data"]!["csrf_token"]!.GetValue<string>();
        await SendAsync(HttpMethod.Post, "/api/v1/leads/retry-failed");
        await SendAsync(HttpMethod.Post, "/api/v1/leads/retry-failed", csrf);
        await SendAsync(HttpMethod.Post, "/admin/logout");
        await SendAsync(HttpMethod.Get, "/api/v1/diagnostics/config");

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        var lines = app.Logs.Lines;
        Assert.Contains(lines, l => l.Message.Contains("signed in", StringComparison.Ordinal));
        foreach (var line in lines)
        {
            foreach (var secret in new[] { password, cookie, csrf })
            {
                Assert.False(line.Message.Contains(secret, StringComparison.Ordinal), $"a secret appeared in a {line.Level} log line of {line.Category}");
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
