using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Gateway.Tests.Security;

// Issue 18: every admin route, read from the app's EndpointDataSource, so a route added later is checked without a change
// here: the admin scope required, a signed-in session's write refused without the anti-forgery header, no secret in any answer.
public sealed partial class AdminRoutesTests
{
    private const string ShopKey = "shop-key-cccccccccccccccccc";
    private const string SiteKey = "site-key-ssssssssssssssssss";
    private const string ReaderKey = "reader-key-rrrrrrrrrrrrrrrrrr";
    private const string Password = "admin-routes-password-0123";
    private const string MetricsToken = "metrics-token-mmmmmmmmmmmmmmmm";
    private const string CallbackSecret = "callback-secret-kkkkkkkkkkkkkkkk";
    private const string BotToken = "123456789:AAadmin-routes-bot-token-secret";
    private const string AddedDomain = "filial.amocrm.ru";
    private const string AddedClientSecret = "added-account-client-secret-0123";
    private const string CreatedKeyName = "made-here";
    private const string SessionCookie = "gateway_admin";
    private const string CsrfRefusal = "Forbidden: a change made in an admin session needs the X-Gateway-Csrf header";

    private static readonly string EncryptionKey = Convert.ToBase64String(Encoding.UTF8.GetBytes("admin-routes-encryption-key-0123"));

    // The routes an admin reaches that are not under /api/v1/admin or /api/v1/diagnostics and carry no admin policy:
    // their handlers check the caller themselves. The status a known key without admin hears from each.
    private static readonly Dictionary<string, HttpStatusCode> CheckedByHand = new()
    {
        // A script with a known key hears 403 naming the scope (a browser without one is sent to the sign-in page).
        ["GET /oauth/authorize"] = HttpStatusCode.Forbidden,
        // Prometheus' credential: a key that may not scrape hears what any wrong credential hears (MetricsCredentialTests).
        ["GET /metrics"] = HttpStatusCode.Unauthorized,
    };

    // Routes anyone may call at the routing level, and why none of them is an admin's: a new one must be added here,
    // or made an admin route, before this suite passes.
    private static readonly Dictionary<string, string> Open = new()
    {
        ["GET /health"] = "liveness",
        ["GET /health/ready"] = "readiness: the details only for an admin (ReadinessTests)",
        ["GET /oauth/callback"] = "amoCRM's redirect back, checked by the consent state",
        ["GET /oauth/status"] = "whether the gateway is connected, nothing more",
        ["GET /admin"] = "the console's page: 303 to the sign-in page without an admin (ConsoleApiTests)",
        ["GET /admin/assets/{name}"] = "the console's script and styles",
        ["GET /admin/assets/i18n/{name}"] = "the console's message catalogues",
        ["GET /admin/login"] = "the sign-in form",
        ["POST /admin/login"] = "signing in, checked by Origin and the brute-force brake (AdminSessionTests)",
        ["POST /admin/logout"] = "signing out, checked by Origin",
        ["POST /hooks/amocrm/{account}/{secret}"] = "amoCRM's webhooks in, checked by the secret in the path",
        ["GET /openapi/{documentName}.json"] = "the API's description",
    };

    // The one answer allowed to hold a secret: issue 20 shows each account's amoCRM webhook address, secret included, to
    // admins so they can paste it into amoCRM. It must still hold no other secret.
    private static readonly Dictionary<string, string> ShownOnPurpose = new() { ["GET /api/v1/admin/events/amocrm-webhook"] = "amoCRM webhook secret" };

    [Fact]
    public async Task Every_admin_route_answers_401_to_nobody_and_403_in_the_envelope_to_keys_without_the_admin_scope()
    {
        await using var gateway = await SeededGateway.StartAsync(seed: false);
        var admin = AdminRoutes(gateway.App);
        using var nobody = gateway.App.CreateAnonymousClient();
        using var site = gateway.App.Client(SiteKey);
        using var reader = gateway.App.Client(ReaderKey);

        Assert.True(admin.Count(r => r.Path.StartsWith("/api/v1/admin/", StringComparison.Ordinal)) >= 25, "too few admin routes found: " + string.Join(", ", admin));
        var wrong = new List<string>();
        foreach (var route in admin)
        {
            var path = route.Fill(gateway.Values);
            await ExpectAsync(wrong, route, "by nobody", await nobody.SendAsync(Request(route.Method, path)), HttpStatusCode.Unauthorized, "Invalid or missing API key");
            var refusal = CheckedByHand.GetValueOrDefault(route.Name, HttpStatusCode.Forbidden);
            var error = refusal == HttpStatusCode.Forbidden ? "Forbidden: this needs the \"admin\" scope" : "Invalid or missing API key";
            await ExpectAsync(wrong, route, "by a leads key", await site.SendAsync(Request(route.Method, path)), refusal, error);
            await ExpectAsync(wrong, route, "by a leads+read key", await reader.SendAsync(Request(route.Method, path)), refusal, error);
        }

        Assert.True(wrong.Count == 0, "admin routes open to callers without the admin scope:" + Environment.NewLine + string.Join(Environment.NewLine, wrong));
    }

    [Fact]
    public async Task Every_admin_write_in_a_signed_in_session_without_the_anti_forgery_header_is_refused_and_changes_nothing()
    {
        await using var gateway = await SeededGateway.StartAsync();
        var routes = AdminRoutes(gateway.App);
        var writes = routes.Where(r => r.Method is "POST" or "PUT" or "PATCH" or "DELETE").ToList();
        using var browser = Browser(gateway.App);
        using var admin = gateway.App.CreateKeyedClient();
        Assert.True(writes.Count >= 15, "too few admin writes found: " + string.Join(", ", writes));
        var before = await gateway.SnapshotAsync(routes, admin);

        var wrong = new List<string>();
        foreach (var route in writes)
        {
            foreach (var (what, token) in new[] { ("without the header", (string?)null), ("with another token", "not-this-sessions-token") })
            {
                var response = await browser.SendAsync(gateway.InSession(Request(route.Method, route.Fill(gateway.Values), "{}"), token));
                await ExpectAsync(wrong, route, what, response, HttpStatusCode.Forbidden, CsrfRefusal);
            }
        }

        Assert.True(wrong.Count == 0, "admin writes a session makes without the anti-forgery header:" + Environment.NewLine + string.Join(Environment.NewLine, wrong));
        var after = await gateway.SnapshotAsync(routes, admin);
        var changed = before.Where(b => after[b.Key] != b.Value).Select(b => $"{b.Key}: {b.Value} -> {after[b.Key]}").ToList();
        Assert.True(changed.Count == 0, "refused writes changed:" + Environment.NewLine + string.Join(Environment.NewLine, changed));

        // The same session with its token gets past the check on every one of them (refused by the handler at most).
        foreach (var route in writes)
        {
            var response = await browser.SendAsync(gateway.InSession(Request(route.Method, route.Fill(gateway.Values), "{}"), gateway.Csrf));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{route.Name} with the session's token: {(int)response.StatusCode} {text}");
        }
    }

    [Fact]
    public async Task No_GET_answers_an_admin_with_a_secret_and_only_the_amocrm_webhook_route_shows_its_own()
    {
        await using var gateway = await SeededGateway.StartAsync();
        using var admin = gateway.App.CreateKeyedClient();
        using var browser = Browser(gateway.App);
        var admins = AdminRoutes(gateway.App).Select(r => r.Name).ToHashSet();
        var gets = AllRoutes(gateway.App).Where(r => r.Method == "GET").ToList();
        var secrets = gateway.Secrets();
        Assert.Single(ShownOnPurpose);
        Assert.All(ShownOnPurpose.Keys, name => Assert.Contains(name, admins));

        var leaks = new List<string>();
        var shown = new List<string>();
        foreach (var (route, how) in gets.SelectMany(r => new[] { (r, "with the admin key"), (r, "in the admin session") }))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, route.Fill(gateway.Values));
            var response = how == "in the admin session" ? await browser.SendAsync(gateway.InSession(request, null)) : await admin.SendAsync(request);
            var answer = string.Join('\n', response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(',', h.Value)}"))
                + "\n" + await response.Content.ReadAsStringAsync();
            if (admins.Contains(route.Name))
            {
                Assert.True((int)response.StatusCode < 400, $"{route.Name} {how} answered {(int)response.StatusCode} with the seeded data: {answer}");
            }

            foreach (var (name, value) in secrets)
            {
                if (!answer.Contains(value, StringComparison.Ordinal))
                {
                    continue;
                }

                if (ShownOnPurpose.GetValueOrDefault(route.Name) == name)
                {
                    shown.Add(route.Name);
                }
                else
                {
                    leaks.Add($"{route.Name} {how} shows the {name}");
                }
            }
        }

        Assert.True(gets.Count >= 25, $"only {gets.Count} GET routes found");
        Assert.True(leaks.Count == 0, "secrets in answers:" + Environment.NewLine + string.Join(Environment.NewLine, leaks));
        // The exclusion is real: the webhook secret scanned for is the one that route shows.
        Assert.Equal(ShownOnPurpose.Keys.SelectMany(k => new[] { k, k }), shown);
    }

    [Fact]
    public async Task Every_route_is_an_admin_route_a_keyed_route_or_an_open_one_listed_with_its_reason()
    {
        await using var gateway = await SeededGateway.StartAsync(seed: false);
        var routes = AllRoutes(gateway.App);
        var admins = AdminRoutes(gateway.App).Select(r => r.Name).ToHashSet();

        var unclassified = routes.Where(r => !admins.Contains(r.Name) && !r.IsKeyed && !Open.ContainsKey(r.Name)).Select(r => r.Name).ToList();
        var stale = Open.Keys.Concat(CheckedByHand.Keys).Except(routes.Select(r => r.Name)).ToList();
        var adminPathWithoutPolicy = routes.Where(r => r.IsUnderAdminPath && !r.HasAdminPolicy).Select(r => r.Name).ToList();

        Assert.True(unclassified.Count == 0, "routes neither admin nor keyed nor listed in Open (say who may call them): " + string.Join(", ", unclassified));
        Assert.True(stale.Count == 0, "listed routes that no longer exist: " + string.Join(", ", stale));
        Assert.True(adminPathWithoutPolicy.Count == 0, "admin paths without RequireScope(Scopes.Admin): " + string.Join(", ", adminPathWithoutPolicy));
    }

    private static async Task ExpectAsync(List<string> wrong, Route route, string how, HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? body = null;
        try
        {
            body = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
        }

        if (response.StatusCode != status || body?["success"]?.GetValue<bool>() != false || (string?)body?["error"] != error)
        {
            wrong.Add($"{route.Name} {how}: {(int)response.StatusCode} {text}");
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\{[A-Za-z_]+\}")]
    private static partial System.Text.RegularExpressions.Regex Parameter();

    // Cookies by hand, as a browser keeps them: each request carries exactly the session cookie it is given.
    private static HttpClient Browser(GatewayApp app) =>
        app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });

    private static HttpRequestMessage Request(string method, string path, string? json = null) =>
        new(new HttpMethod(method), path) { Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json") };

    private static List<Route> AllRoutes(GatewayApp app) =>
        [.. app.Get<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => new Route(m, e)))
            .OrderBy(r => r.Name, StringComparer.Ordinal)];

    private static List<Route> AdminRoutes(GatewayApp app) =>
        [.. AllRoutes(app).Where(r => r.IsUnderAdminPath || r.HasAdminPolicy || CheckedByHand.ContainsKey(r.Name))];

    private sealed class Route(string method, RouteEndpoint endpoint)
    {
        public string Method { get; } = method;

        public string Pattern { get; } = endpoint.RoutePattern.RawText!;

        // The path without constraints or a group's trailing slash: "GET /api/v1/admin/leads/{id}".
        public string Path { get; } = "/" + string.Join('/', endpoint.RoutePattern.PathSegments.Select(s => string.Concat(s.Parts.Select(p => p switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            RoutePatternSeparatorPart separator => separator.Content,
            _ => throw new InvalidOperationException(p.GetType().Name),
        }))));

        public string Name => $"{Method} {Path}";

        public bool IsUnderAdminPath => Path.StartsWith("/api/v1/admin/", StringComparison.Ordinal) || Path.StartsWith("/api/v1/diagnostics/", StringComparison.Ordinal);

        public bool HasAdminPolicy => Policies.Contains(Gateway.Security.Scopes.PolicyName(Gateway.Security.Scopes.Admin));

        // Behind the leads or read scope, without AllowAnonymous: the key scheme's 401 for nobody.
        public bool IsKeyed => endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null
            && Policies.Any(p => p == Gateway.Security.Scopes.PolicyName(Gateway.Security.Scopes.Leads) || p == Gateway.Security.Scopes.PolicyName(Gateway.Security.Scopes.Read));

        private IEnumerable<string?> Policies => endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy);

        // Real values from the table; a route with a parameter the table lacks fails here, naming it.
        public string Fill(Dictionary<string, string> values) =>
            Parameter().Replace(Path, m => values.TryGetValue($"{Name} {m.Value}", out var value) ? Uri.EscapeDataString(value)
                : throw new Xunit.Sdk.XunitException($"{Name} has the parameter {m.Value}, which the route-parameter table of {nameof(AdminRoutesTests)} lacks: add an existing value for it in {nameof(SeededGateway)}.Values"));

        public override string ToString() => Name;
    }

    // A gateway holding every kind of secret it knows, each with real data behind it: an account connected through the
    // emulator's consent, a delivered lead with its callback (callback_secret) and Telegram message (bot token), a rejected
    // form submission, a key made in the console, an account added with its client_secret, the webhook secret, a session.
    private sealed class SeededGateway : IAsyncDisposable
    {
        private SeededGateway(AmoEmulator amo, GatewayApp app)
        {
            Amo = amo;
            App = app;
        }

        public AmoEmulator Amo { get; }

        public GatewayApp App { get; }

        public Dictionary<string, string> Values { get; } = [];

        public string Cookie { get; private set; } = "";

        public string Csrf { get; private set; } = "";

        public string WebhookSecret { get; private set; } = "";

        public string CreatedKey { get; private set; } = "";

        public static async Task<SeededGateway> StartAsync(bool seed = true)
        {
            // A still clock: answers read twice are the same unless something was changed.
            var clock = new TestTimeProvider();
            var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
            var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
            SecurityTestKit.WriteKeysFile(dir,
                SecurityTestKit.Entry("shop", ShopKey, $"\"callback_url\":\"{new Uri(amo.BaseUrl, "/_emulator/sink/shop")}\",\"callback_secret\":\"{CallbackSecret}\""),
                SecurityTestKit.Entry("site", SiteKey, "\"scopes\":[\"leads\"]"),
                SecurityTestKit.Entry("reader", ReaderKey, "\"scopes\":[\"leads\",\"read\"]"));
            var subscriptions = Path.Combine(dir, "subscriptions.json");
            File.WriteAllText(subscriptions, """{"subscriptions":[{"name":"sales","events":["lead.delivered"],"telegram_chat_id":"-100777"}]}""");
            var app = new GatewayApp(amo, clock, dir, new Dictionary<string, string?>
            {
                ["ADMIN_PASSWORD"] = Password,
                ["METRICS_TOKEN"] = MetricsToken,
                ["GATEWAY_ENCRYPTION_KEY"] = EncryptionKey,
                ["TELEGRAM_BOT_TOKEN"] = BotToken,
                ["TELEGRAM_API_URL"] = new Uri(amo.BaseUrl, "/_emulator/telegram/").ToString(),
                ["SUBSCRIPTIONS_FILE"] = subscriptions,
                ["ALLOW_PRIVATE_CALLBACKS"] = "true",
                // The still clock never ends a minute: the inbound limits would refuse a suite of routes that grows.
                ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0",
                ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "0",
            });
            app.MadeSecrets.AddRange([ShopKey, SiteKey, ReaderKey, CallbackSecret, AddedClientSecret]);
            var gateway = new SeededGateway(amo, app);
            gateway.Values["GET /admin/assets/{name} {name}"] = "console.js";
            gateway.Values["GET /admin/assets/i18n/{name} {name}"] = "en.json";
            gateway.Values["GET /openapi/{documentName}.json {documentName}"] = "v1";
            gateway.Values["GET /api/v1/info/pipelines/{id} {id}"] = EmulatorSeed.SecondPipelineId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            gateway.Values["DELETE /api/v1/admin/keys/{name} {name}"] = CreatedKeyName;
            gateway.Values["DELETE /api/v1/admin/accounts/{domain} {domain}"] = AddedDomain;
            gateway.Values["POST /api/v1/admin/accounts/{domain}/pause {domain}"] = AddedDomain;
            gateway.Values["POST /api/v1/admin/accounts/{domain}/resume {domain}"] = AddedDomain;
            if (seed)
            {
                await gateway.SeedAsync();
            }
            else
            {
                foreach (var name in new[] { "GET /api/v1/admin/leads/{id}", "POST /api/v1/leads/{id}/retry", "GET /api/v1/leads/{id}", "POST /api/v1/admin/submissions/{id}/replay", "POST /api/v1/admin/events/deliveries/{id}/replay" })
                {
                    gateway.Values[name + " {id}"] = "1";
                }
            }

            return gateway;
        }

        private async Task SeedAsync()
        {
            using var admin = App.CreateKeyedClient();
            using var shop = App.Client(ShopKey);
            Assert.Equal(HttpStatusCode.OK, (await GatewayApp.ConsentAsync(admin)).StatusCode);
            var lead = await shop.PostQueuedAsync("""{"lead":{"name":"Order 1"},"contact":{"name":"Dilnoza Yusupova","phone":"+998901234567"},"comment":"call after six"}""", HttpStatusCode.OK);
            await Eventually.TrueAsync(() => Amo.Hooks.SinkRequests("shop").Count == 1 && Amo.Hooks.TelegramMessages.Count == 1 && Amo.State.Notes.Count == 1, "the lead's note, callback and Telegram message");
            await Eventually.TrueAsync(async () => (await EventsOf(admin)).All(d => (string?)d!["status"] == "delivered"), "both deliveries settled");
            var delivery = (long)(await EventsOf(admin))[0]!["id"]!;

            var rejected = await App.CreateAnonymousClient().PostAsync($"/hooks/cf7/{ShopKey}", new StringContent("""{"your-subject":"no contact"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, rejected.StatusCode);
            var submissions = (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions")))["submissions"]!.AsArray();
            var submission = (long)submissions.Single(s => (string?)s!["status"] == "rejected")!["id"]!;

            var created = await ApiAssert.EnvelopeAsync(await admin.PostJsonAsync("/api/v1/admin/keys", $$"""{"name":"{{CreatedKeyName}}","scopes":["leads"]}"""), HttpStatusCode.Created);
            CreatedKey = (string)created["data"]!["key"]!;
            App.MadeSecrets.Add(CreatedKey);
            var account = $$"""{"domain":"{{AddedDomain}}","client_id":"added-client-id","client_secret":"{{AddedClientSecret}}","base_url":"{{Amo.BaseUrl}}","auth_url":"{{new Uri(Amo.BaseUrl, "/oauth")}}"}""";
            await ApiAssert.EnvelopeAsync(await admin.PostJsonAsync("/api/v1/admin/accounts", account), HttpStatusCode.Created);

            var webhook = (string)(await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/events/amocrm-webhook")))["path"]!;
            WebhookSecret = webhook[(webhook.LastIndexOf('/') + 1)..];
            App.MadeSecrets.Add(WebhookSecret);
            await SignInAsync();

            foreach (var name in new[] { "GET /api/v1/admin/leads/{id}", "POST /api/v1/leads/{id}/retry", "GET /api/v1/leads/{id}" })
            {
                Values[name + " {id}"] = lead.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            Values["POST /api/v1/admin/submissions/{id}/replay {id}"] = submission.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Values["POST /api/v1/admin/events/deliveries/{id}/replay {id}"] = delivery.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        private static async Task<JsonArray> EventsOf(HttpClient admin) =>
            (JsonArray)(await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/events/deliveries")))["deliveries"]!;

        private async Task SignInAsync()
        {
            using var browser = Browser(App);
            using var login = new HttpRequestMessage(HttpMethod.Post, "/admin/login") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["password"] = Password }) };
            login.Headers.Add("Origin", "http://localhost");
            var response = await browser.SendAsync(login);
            Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
            var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(SessionCookie + "=", StringComparison.Ordinal));
            Cookie = cookie[(SessionCookie.Length + 1)..cookie.IndexOf(';', StringComparison.Ordinal)];
            using var session = InSession(new HttpRequestMessage(HttpMethod.Get, "/api/v1/admin/session"), null);
            Csrf = (string)(await ApiAssert.SuccessDataAsync(await browser.SendAsync(session)))["csrf_token"]!;
        }

        public HttpRequestMessage InSession(HttpRequestMessage request, string? csrf)
        {
            request.Headers.Add("Cookie", $"{SessionCookie}={Cookie}");
            if (csrf is not null)
            {
                request.Headers.Add("X-Gateway-Csrf", csrf);
            }

            return request;
        }

        // What every admin read says (the consent start and the scrape change things themselves), and what amoCRM, the
        // callback sink and Telegram were sent.
        public async Task<Dictionary<string, string>> SnapshotAsync(IEnumerable<Route> routes, HttpClient admin)
        {
            var snapshot = new Dictionary<string, string>();
            foreach (var route in routes.Where(r => r.Method == "GET" && r.IsUnderAdminPath))
            {
                snapshot[route.Name] = await (await admin.GetAsync(route.Fill(Values))).Content.ReadAsStringAsync();
            }

            snapshot["sent out"] = $"amoCRM calls {Amo.State.Requests.Count}, callbacks {Amo.Hooks.SinkRequests("shop").Count}, Telegram {Amo.Hooks.TelegramMessages.Count}";
            return snapshot;
        }

        public List<(string Name, string Value)> Secrets()
        {
            var personalData = App.Get<Gateway.Security.PersonalData>();
            var keys = new[] { "dataKey", "hashKey" }
                .Select(f => (byte[])typeof(Gateway.Security.PersonalData).GetField(f, BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(personalData)!)
                .SelectMany(k => new[] { Convert.ToBase64String(k), Convert.ToHexString(k), Convert.ToHexStringLower(k) });
            var all = new List<(string Name, string Value)>
            {
                ("API_KEY", GatewayApp.ApiKey),
                ("keys-file key shop", ShopKey),
                ("keys-file key site", SiteKey),
                ("keys-file key reader", ReaderKey),
                ("key made in the console", CreatedKey),
                ("AMO_CLIENT_SECRET", Amo.Options.ClientSecret),
                ("added account's client_secret", AddedClientSecret),
                ("ADMIN_PASSWORD", Password),
                ("METRICS_TOKEN", MetricsToken),
                ("callback_secret", CallbackSecret),
                ("TELEGRAM_BOT_TOKEN", BotToken),
                ("TELEGRAM_BOT_TOKEN's secret part", BotToken[(BotToken.IndexOf(':', StringComparison.Ordinal) + 1)..]),
                ("GATEWAY_ENCRYPTION_KEY", EncryptionKey),
                ("amoCRM webhook secret", WebhookSecret),
                ("admin session cookie", Cookie),
            };
            all.AddRange(Amo.State.IssuedSecrets.Select(s => ("amoCRM token or code", s)));
            all.AddRange(keys.Select(k => ("personal-data key", k)));
            Assert.All(all, s => Assert.True(s.Value.Length >= 12, s.Name + " is too short to scan for"));
            Assert.True(Amo.State.IssuedSecrets.Count >= 3, "consent issued no tokens");
            return all;
        }

        public async ValueTask DisposeAsync()
        {
            await App.DisposeAsync();
            await Amo.DisposeAsync();
        }
    }
}
