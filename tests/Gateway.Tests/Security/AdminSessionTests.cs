using System.Net;
using Emulator;
using Gateway.Hosting;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Gateway.Tests.Security;

// Issue 12, admin identity: a browser session opened at /admin/login with ADMIN_PASSWORD or an admin key.
public sealed class AdminSessionTests
{
    private const string Password = "correct-horse-battery-staple";
    private const string CookieName = "gateway_admin";
    private const string OpsKey = "ops-key-dddddddddddddddddd";
    private const string BotKey = "bot-key-bbbbbbbbbbbbbbbbbb";
    private const string SessionEnded = "Not signed in: the admin session has ended or was signed out";

    private static GatewayApp App(AmoEmulator amo, TestTimeProvider? clock = null, string? dataDir = null, params (string Name, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["ADMIN_PASSWORD"] = Password };
        foreach (var (name, value) in extra)
        {
            settings[name] = value;
        }

        return new GatewayApp(amo, clock, dataDir, settings);
    }

    // Cookies by hand, as a browser would keep them: each test sees exactly which cookie goes where.
    private static HttpClient Browser(GatewayApp app, string baseAddress = "http://localhost") =>
        app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false, BaseAddress = new Uri(baseAddress) });

    private static Task<HttpResponseMessage> PostLoginAsync(HttpClient browser, string field, string value, string? next = null, string? origin = null, string? fetchSite = null)
    {
        var fields = new Dictionary<string, string> { [field] = value };
        if (next is not null)
        {
            fields["next"] = next;
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "/admin/login") { Content = new FormUrlEncodedContent(fields) };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }

        return browser.SendAsync(request);
    }

    private static string SetCookieOf(HttpResponseMessage response) =>
        Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(CookieName + "=", StringComparison.Ordinal));

    private static async Task<string> SignInAsync(HttpClient browser, string field = "password", string value = Password)
    {
        var response = await PostLoginAsync(browser, field, value, origin: browser.BaseAddress!.GetLeftPart(UriPartial.Authority));
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var cookie = SetCookieOf(response);
        return cookie[(CookieName.Length + 1)..cookie.IndexOf(';', StringComparison.Ordinal)];
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient browser, HttpMethod method, string path, string cookie, string? csrf = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", $"{CookieName}={cookie}");
        if (csrf is not null)
        {
            request.Headers.Add("X-Gateway-Csrf", csrf);
        }

        return browser.SendAsync(request);
    }

    private static Task<HttpResponseMessage> GetAsync(HttpClient browser, string path, string cookie) => SendAsync(browser, HttpMethod.Get, path, cookie);

    private static async Task AssertSessionEndedAsync(HttpResponseMessage response)
    {
        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.Unauthorized, SessionEnded);
        Assert.Equal("/admin/login", details!["login"]!.GetValue<string>());
    }

    // The session is an admin everywhere an admin is asked for: consent, /metrics, readiness details.
    [Fact]
    public async Task A_signed_in_admin_starts_consent_scrapes_metrics_and_reads_readiness_details_with_the_cookie()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var browser = Browser(app);
        var cookie = await SignInAsync(browser);

        var authorize = await GetAsync(browser, "/oauth/authorize", cookie);
        var metrics = await GetAsync(browser, "/metrics", cookie);
        var ready = await ApiAssert.SuccessDataAsync(await GetAsync(browser, "/health/ready", cookie));
        var anonymousMetrics = await browser.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        Assert.Contains("state=", authorize.Headers.Location!.Query, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal(1, Operations.MetricsTests.Sample(await metrics.Content.ReadAsStringAsync(), "gateway_database_up", null));
        Assert.Equal("ok", ready["checks"]!["database"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousMetrics.StatusCode);
    }

    [Fact]
    public async Task Signing_in_with_the_password_sets_an_HttpOnly_SameSite_Strict_cookie_that_opens_admin_routes()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo, clock);
        using var browser = Browser(app);

        var login = await PostLoginAsync(browser, "password", Password, origin: "http://localhost");
        var setCookie = SetCookieOf(login);
        var cookie = setCookie[(CookieName.Length + 1)..setCookie.IndexOf(';', StringComparison.Ordinal)];
        var config = await GetAsync(browser, "/api/v1/diagnostics/config", cookie);
        var session = await ApiAssert.SuccessDataAsync(await GetAsync(browser, "/api/v1/admin/session", cookie));

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/admin/", login.Headers.Location!.OriginalString);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(43, cookie.Length);
        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        Assert.Equal("admin", session["name"]!.GetValue<string>());
        Assert.Equal("password", session["signed_in_with"]!.GetValue<string>());
        Assert.Equal(clock.GetUtcNow().AddMinutes(30).ToUnixTimeSeconds(), session["expires_at"]!.GetValue<long>());
        Assert.Equal(clock.GetUtcNow().AddHours(12).ToUnixTimeSeconds(), session["ends_at_latest"]!.GetValue<long>());
        Assert.Equal("X-Gateway-Csrf", session["csrf_header"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(session["csrf_token"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Over_https_the_session_cookie_is_also_Secure()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var browser = Browser(app, "https://localhost");

        var login = await PostLoginAsync(browser, "password", Password, origin: "https://localhost");

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Contains("; secure", SetCookieOf(login), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_that_ended_TLS_the_session_cookie_is_Secure()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo, extra: ("TRUSTED_PROXIES", "127.0.0.1"));
        using var browser = app.WithPeers().Client(peer: "127.0.0.1");
        browser.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        browser.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.7");

        var login = await PostLoginAsync(browser, "password", Password, origin: "https://localhost");

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Contains("; secure", SetCookieOf(login), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_admin_key_opens_a_session_under_the_key_name_and_a_key_without_admin_does_not()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("ops", OpsKey, """ "scopes":["admin"] """), SecurityTestKit.Entry("bot", BotKey));
        await using var app = App(amo, dataDir: dir);
        using var browser = Browser(app);

        var ops = await SignInAsync(browser, "key", OpsKey);
        var apiKey = await SignInAsync(browser, "key", GatewayApp.ApiKey);
        var bot = await PostLoginAsync(browser, "key", BotKey);

        Assert.Equal("ops", (await ApiAssert.SuccessDataAsync(await GetAsync(browser, "/api/v1/admin/session", ops)))["name"]!.GetValue<string>());
        Assert.Equal("key", (await ApiAssert.SuccessDataAsync(await GetAsync(browser, "/api/v1/admin/session", ops)))["signed_in_with"]!.GetValue<string>());
        Assert.Equal("default", (await ApiAssert.SuccessDataAsync(await GetAsync(browser, "/api/v1/admin/session", apiKey)))["name"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, bot.StatusCode);
        Assert.False(bot.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task A_session_opened_with_a_key_ends_when_the_keys_file_no_longer_gives_that_key_admin()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("ops", OpsKey, """ "scopes":["admin"] """));
        await using var app = App(amo, clock, dir);
        using var browser = Browser(app);
        var cookie = await SignInAsync(browser, "key", OpsKey);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(browser, "/api/v1/diagnostics/config", cookie)).StatusCode);

        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("ops", OpsKey, """ "scopes":["leads","read"] """));
        clock.Advance(TimeSpan.FromSeconds(2));

        await AssertSessionEndedAsync(await GetAsync(browser, "/api/v1/diagnostics/config", cookie));
    }

    [Fact]
    public async Task Wrong_passwords_up_to_BAD_KEY_LIMIT_block_the_client_even_for_the_right_password()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo, extra: ("BAD_KEY_LIMIT", "3"));
        var factory = app.WithPeers();
        using var attacker = factory.Client(peer: "198.51.100.9");
        using var elsewhere = factory.Client(peer: "198.51.100.10");

        var guesses = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            guesses.Add(await PostLoginAsync(attacker, "password", $"wrong-password-{i}-xxxx"));
        }

        var right = await PostLoginAsync(attacker, "password", Password);
        var rightElsewhere = await PostLoginAsync(elsewhere, "password", Password);

        foreach (var guess in guesses)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, guess.StatusCode);
            Assert.Contains("Sign-in failed: wrong password or key.", await guess.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.False(guess.Headers.Contains("Set-Cookie"));
        }

        // The sign-in page again (issue 18: a person, not a script, is at this form), with the brake's wait.
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
        Assert.Contains("Too many failed sign-ins from this address: try again in 15 min.", await right.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(right.Headers.Contains("Retry-After"));
        Assert.False(right.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.SeeOther, rightElsewhere.StatusCode);
    }

    [Fact]
    public async Task A_session_left_idle_longer_than_ADMIN_SESSION_IDLE_MINUTES_ends()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo, clock);
        using var browser = Browser(app);
        var cookie = await SignInAsync(browser);

        clock.Advance(TimeSpan.FromMinutes(29));
        var stillActive = await GetAsync(browser, "/api/v1/diagnostics/config", cookie);
        clock.Advance(TimeSpan.FromMinutes(29));
        var activeAgain = await GetAsync(browser, "/api/v1/diagnostics/config", cookie);
        clock.Advance(TimeSpan.FromMinutes(31));
        var idle = await GetAsync(browser, "/api/v1/diagnostics/config", cookie);

        Assert.Equal(HttpStatusCode.OK, stillActive.StatusCode);
        Assert.Equal(HttpStatusCode.OK, activeAgain.StatusCode);
        await AssertSessionEndedAsync(idle);
        Assert.Contains("expires=", SetCookieOf(idle), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_session_in_constant_use_ends_after_ADMIN_SESSION_MAX_HOURS()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo, clock, extra: ("ADMIN_SESSION_MAX_HOURS", "2"));
        using var browser = Browser(app);
        var cookie = await SignInAsync(browser);

        var whileYoung = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(20));
            whileYoung.Add((await GetAsync(browser, "/api/v1/diagnostics/config", cookie)).StatusCode);
        }

        clock.Advance(TimeSpan.FromMinutes(20));
        var atTwoHours = await GetAsync(browser, "/api/v1/diagnostics/config", cookie);

        Assert.All(whileYoung, s => Assert.Equal(HttpStatusCode.OK, s));
        await AssertSessionEndedAsync(atTwoHours);
    }

    [Fact]
    public async Task Signing_out_revokes_the_session_so_the_old_cookie_gets_401()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var browser = Browser(app);
        var cookie = await SignInAsync(browser);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(browser, "/api/v1/diagnostics/config", cookie)).StatusCode);

        var logout = await SendAsync(browser, HttpMethod.Post, "/admin/logout", cookie);
        var afterwards = await GetAsync(browser, "/api/v1/diagnostics/config", cookie);

        Assert.Equal(HttpStatusCode.SeeOther, logout.StatusCode);
        Assert.Equal("/admin/login", logout.Headers.Location!.OriginalString);
        Assert.Contains("expires=", SetCookieOf(logout), StringComparison.OrdinalIgnoreCase);
        await AssertSessionEndedAsync(afterwards);
    }

    [Fact]
    public async Task A_session_opened_on_one_instance_works_on_another_and_signing_out_there_ends_it_on_both()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-cluster-").FullName;
        await using var first = App(amo, dataDir: dir);
        await using var second = App(amo, dataDir: dir);
        using var a = Browser(first);
        using var b = Browser(second);
        var cookie = await SignInAsync(a);

        var onSecond = await GetAsync(b, "/api/v1/diagnostics/config", cookie);
        await SendAsync(b, HttpMethod.Post, "/admin/logout", cookie);
        var onFirst = await GetAsync(a, "/api/v1/diagnostics/config", cookie);

        Assert.Equal(HttpStatusCode.OK, onSecond.StatusCode);
        await AssertSessionEndedAsync(onFirst);
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("evil.example/admin")]
    public async Task A_next_that_leaves_the_gateway_is_replaced_by_the_admin_page(string next)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var browser = Browser(app);

        var login = await PostLoginAsync(browser, "password", Password, next);
        var page = await browser.GetAsync("/admin/login?next=" + Uri.EscapeDataString(next));

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/admin/", login.Headers.Location!.OriginalString);
        Assert.Contains("name=\"next\" value=\"/admin/\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_local_next_is_where_the_browser_goes_after_signing_in()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var browser = Browser(app);

        var page = await browser.GetAsync("/admin/login?next=%2Foauth%2Fauthorize");
        var login = await PostLoginAsync(browser, "password", Password, "/oauth/authorize");

        Assert.Contains("name=\"next\" value=\"/oauth/authorize\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/oauth/authorize", login.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_write_in_a_session_needs_the_anti_forgery_header_from_the_session_route()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var browser = Browser(app);
        var cookie = await SignInAsync(browser);
        var csrf = (await ApiAssert.SuccessDataAsync(await GetAsync(browser, "/api/v1/admin/session", cookie)))["csrf_token"]!.GetValue<string>();

        var without = await SendAsync(browser, HttpMethod.Post, "/api/v1/leads/retry-failed", cookie);
        var wrong = await SendAsync(browser, HttpMethod.Post, "/api/v1/leads/retry-failed", cookie, "not-the-token");
        var with = await SendAsync(browser, HttpMethod.Post, "/api/v1/leads/retry-failed", cookie, csrf);

        var details = await ApiAssert.FailureAsync(without, HttpStatusCode.Forbidden, "Forbidden: a change made in an admin session needs the X-Gateway-Csrf header");
        Assert.Equal("X-Gateway-Csrf", details!["header"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
    }

    [Fact]
    public async Task A_sign_in_posted_from_another_site_is_refused_403_without_a_cookie()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var browser = Browser(app);

        var foreignOrigin = await PostLoginAsync(browser, "password", Password, origin: "https://evil.example");
        var nullOrigin = await PostLoginAsync(browser, "password", Password, origin: "null");
        var crossSite = await PostLoginAsync(browser, "password", Password, fetchSite: "cross-site");
        var sameSite = await PostLoginAsync(browser, "password", Password, origin: "http://localhost", fetchSite: "same-site");
        var ownPage = await PostLoginAsync(browser, "password", Password, origin: "http://localhost", fetchSite: "same-origin");

        foreach (var refused in new[] { foreignOrigin, nullOrigin, crossSite, sameSite })
        {
            await ApiAssert.FailureAsync(refused, HttpStatusCode.Forbidden, "Sign-in refused: the form was not sent from this gateway's own page");
            Assert.False(refused.Headers.Contains("Set-Cookie"));
        }

        Assert.Equal(HttpStatusCode.SeeOther, ownPage.StatusCode);
    }

    [Fact]
    public async Task The_login_page_has_a_password_form_under_its_own_policy_with_no_script()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var browser = Browser(app);

        var page = await browser.GetAsync("/admin/login");
        var html = await page.Content.ReadAsStringAsync();
        var policy = page.Headers.GetValues("Content-Security-Policy").Single();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html; charset=utf-8", page.Content.Headers.ContentType!.ToString());
        Assert.Contains("name=\"password\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"key\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("form-action 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("style-src 'sha256-", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("script-src", policy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_ADMIN_PASSWORD_the_login_page_says_how_to_set_one_and_admin_keys_still_sign_in()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var browser = Browser(app);

        var page = await browser.GetAsync("/admin/login");
        var html = await page.Content.ReadAsStringAsync();
        var password = await PostLoginAsync(browser, "password", "any-password-at-all-123");
        var key = await PostLoginAsync(browser, "key", GatewayApp.ApiKey);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("No admin password is set yet", html, StringComparison.Ordinal);
        Assert.Contains("<code>ADMIN_PASSWORD=</code>", html, StringComparison.Ordinal);
        Assert.Contains("<code>.env</code>", html, StringComparison.Ordinal);
        Assert.Contains("restart", html, StringComparison.Ordinal);
        Assert.DoesNotContain("name=\"password\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"key\"", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, password.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, key.StatusCode);
    }

    [Fact]
    public async Task A_session_reaching_a_gateway_without_ADMIN_PASSWORD_any_more_is_ended()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        string cookie;
        await using (var before = App(amo, dataDir: dir))
        {
            using var browser = Browser(before);
            cookie = await SignInAsync(browser);
        }

        await using var after = new GatewayApp(amo, dataDir: dir);
        using var again = Browser(after);

        await AssertSessionEndedAsync(await GetAsync(again, "/api/v1/diagnostics/config", cookie));
    }

    // A password that leaked is changed: the sessions it opened must not live on for hours.
    [Fact]
    public async Task A_changed_ADMIN_PASSWORD_ends_the_sessions_the_old_one_opened_and_the_same_one_keeps_them()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        string cookie;
        await using (var before = App(amo, dataDir: dir))
        {
            using var browser = Browser(before);
            cookie = await SignInAsync(browser);
        }

        await using (var restarted = App(amo, dataDir: dir))
        {
            using var same = Browser(restarted);
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(same, "/api/v1/diagnostics/config", cookie)).StatusCode);
        }

        await using var changed = App(amo, dataDir: dir, extra: ("ADMIN_PASSWORD", "a-new-password-after-the-leak"));
        using var again = Browser(changed);

        await AssertSessionEndedAsync(await GetAsync(again, "/api/v1/diagnostics/config", cookie));
    }

    [Fact]
    public async Task Past_one_hundred_live_sessions_the_oldest_is_dropped()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo, clock, extra: ("RATE_LIMIT_PER_IP_PER_MINUTE", "0"));
        using var browser = Browser(app);
        var first = await SignInAsync(browser);
        var second = "";
        for (var i = 0; i < 100; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            var cookie = await SignInAsync(browser);
            second = i == 0 ? cookie : second;
        }

        await AssertSessionEndedAsync(await GetAsync(browser, "/api/v1/diagnostics/config", first));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(browser, "/api/v1/diagnostics/config", second)).StatusCode);
    }

    [Fact]
    public async Task An_API_key_with_a_stale_session_cookie_is_judged_by_the_key_alone()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = App(amo);
        using var browser = Browser(app);
        const string staleCookie = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

        using var keyed = new HttpRequestMessage(HttpMethod.Get, "/api/v1/diagnostics/config");
        keyed.Headers.Add("Cookie", $"{CookieName}={staleCookie}");
        keyed.Headers.Add("X-API-KEY", GatewayApp.ApiKey);
        using var wrongKey = new HttpRequestMessage(HttpMethod.Get, "/api/v1/diagnostics/config");
        wrongKey.Headers.Add("Cookie", $"{CookieName}={staleCookie}");
        wrongKey.Headers.Add("X-API-KEY", "not-a-key-0123456789");

        var withKey = await browser.SendAsync(keyed);
        var withWrongKey = await browser.SendAsync(wrongKey);
        var stale = await GetAsync(browser, "/api/v1/diagnostics/config", staleCookie);

        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
        ApiAssert.SameJson("""{"success":false,"error":"Invalid or missing API key","message":"Please provide valid X-API-KEY header"}""",
            await withWrongKey.ReadObjectAsync());
        await AssertSessionEndedAsync(stale);
    }

    [Fact]
    public async Task An_ADMIN_PASSWORD_shorter_than_12_characters_stops_startup_with_one_line_that_does_not_show_it()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["ADMIN_PASSWORD"] = "short-pw-1" });

        var failure = Record.Exception(() => app.CreateAnonymousClient().Dispose());
        await Record.ExceptionAsync(async () => await app.DisposeAsync());

        Assert.NotNull(failure);
        var line = StartupFailure.Describe(failure);
        Assert.Equal("ADMIN_PASSWORD must be at least 12 characters long", line);
    }
}
