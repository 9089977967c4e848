using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Operations;

// /metrics in Prometheus' text format: counters that move with what the gateway did, gauges read from the outbox.
public sealed partial class MetricsTests
{
    private const string Account = "emulator.amocrm.ru";

    [Fact]
    public async Task Metrics_need_the_api_key_or_the_metrics_token()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["METRICS_TOKEN"] = "scrape-token-0123456789" });
        using var anonymous = app.CreateAnonymousClient();

        var denied = await anonymous.GetAsync("/metrics");
        using var bearer = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "scrape-token-0123456789") } };
        var scraped = await anonymous.SendAsync(bearer);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "scrape-token-0123456780") } };
        var wrongToken = await anonymous.SendAsync(wrong);
        var keyed = await app.CreateKeyedClient().GetAsync("/metrics");

        await ApiAssertUnauthorizedAsync(denied);
        await ApiAssertUnauthorizedAsync(wrongToken);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", scraped.Content.Headers.ContentType!.ToString());
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
    }

    [Fact]
    public async Task Metrics_can_be_switched_off()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["METRICS_ENABLED"] = "false" });

        Assert.Equal(HttpStatusCode.NotFound, (await app.CreateKeyedClient().GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task A_delivered_lead_moves_the_delivery_amo_and_http_counters()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var before = await ScrapeAsync(client);

        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);
        var after = await ScrapeAsync(client);

        Assert.Null(Sample(before, "gateway_leads_delivered_total", $"account=\"{Account}\""));
        Assert.Equal(1, Sample(after, "gateway_leads_delivered_total", $"account=\"{Account}\""));
        Assert.Equal(1, Sample(after, "gateway_amo_requests_total", "endpoint=\"/api/v4/leads/unsorted/forms\",method=\"POST\",status=\"200\""));
        Assert.Equal(1, Sample(after, "gateway_amo_request_duration_seconds_count", "endpoint=\"/api/v4/leads/unsorted/forms\""));
        Assert.Equal(1, Sample(after, "gateway_http_requests_total", "route=\"/api/v1/leads/unsorted\",method=\"POST\",status=\"200\""));
        Assert.Equal(1, Sample(after, "gateway_http_request_duration_seconds_bucket", "route=\"/api/v1/leads/unsorted\",method=\"POST\",le=\"+Inf\""));
        Assert.Equal(0, Sample(after, "gateway_outbox_leads", $"account=\"{Account}\",status=\"queued\""));
    }

    [Fact]
    public async Task Unknown_paths_count_as_unmatched_and_templates_never_carry_raw_ids()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        await client.GetAsync("/no/such/route/1");
        await client.GetAsync("/no/such/route/2");
        await client.GetAsync("/api/v1/leads/777");
        var text = await ScrapeAsync(client);

        Assert.Equal(2, Sample(text, "gateway_http_requests_total", "route=\"unmatched\",method=\"GET\",status=\"404\""));
        Assert.Equal(1, Sample(text, "gateway_http_requests_total", "route=\"/api/v1/leads/{id:long}\",method=\"GET\",status=\"404\""));
        // In labels, that is: the runtime's sample values are numbers that may hold those digits by chance, and so may
        // target_info's random service_instance_id (failed once in CI).
        var labels = text.Split('\n').Where(l => !l.StartsWith('#') && !l.StartsWith("target_info", StringComparison.Ordinal) && l.Contains('{', StringComparison.Ordinal))
            .Select(l => l[l.IndexOf('{', StringComparison.Ordinal)..(l.LastIndexOf('}') + 1)]).ToList();
        Assert.NotEmpty(labels);
        Assert.DoesNotContain(labels, l => l.Contains("777", StringComparison.Ordinal));
        Assert.DoesNotContain("/no/such", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refresh_is_counted_by_outcome()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        await app.AuthorizeAsync(clock.GetUtcNow().AddMinutes(1));
        using var client = app.CreateKeyedClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/account")).StatusCode);
        var text = await ScrapeAsync(client);

        Assert.Equal(1, Sample(text, "gateway_token_refreshes_total", $"account=\"{Account}\",outcome=\"ok\""));
        Assert.Equal(1, Sample(text, "gateway_amo_requests_total", "endpoint=\"/oauth2/access_token\",method=\"POST\",status=\"200\""));
        Assert.Equal(1, Sample(text, "gateway_token_state", $"account=\"{Account}\",state=\"valid\""));
    }

    [Fact]
    public async Task Queue_depth_and_oldest_age_are_read_from_the_outbox_at_scrape_time()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock);
        using var client = app.CreateKeyedClient();

        Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);
        clock.Advance(TimeSpan.FromSeconds(90));
        var text = await ScrapeAsync(client);

        Assert.Equal(2, Sample(text, "gateway_outbox_leads", $"account=\"{Account}\",status=\"queued\""));
        Assert.Equal(90, Sample(text, "gateway_outbox_oldest_queued_age_seconds", $"account=\"{Account}\""));
        Assert.Equal(0, Sample(text, "gateway_token_can_deliver", $"account=\"{Account}\""));
        Assert.Equal(1, Sample(text, "gateway_database_up", null));
    }

    [Fact]
    public async Task Calls_held_back_by_the_rate_limit_are_counted_with_their_wait()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        // Each call takes a second at amoCRM, so the second caller is already waiting when the first is answered, and
        // waits at least that answer plus the one-second window, however slowly this machine runs the test.
        amo.State.Delay = TimeSpan.FromSeconds(1);

        var answers = await Task.WhenAll(client.GetAsync("/api/v1/info/account"), client.GetAsync("/api/v1/info/pipelines"));
        var text = await ScrapeAsync(client);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(1, Sample(text, "gateway_amo_rate_limit_waits_total", $"account=\"{Account}\""));
        Assert.InRange(Sample(text, "gateway_amo_rate_limit_wait_seconds_total", $"account=\"{Account}\"") ?? 0, 1.0, 60);
    }

    [Fact]
    public async Task Every_sample_line_is_valid_exposition_format()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);
        await client.GetAsync("/nope");

        var text = await ScrapeAsync(client);

        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.Matches(ExpositionLine(), line);
        }
    }

    // The catalogue the README lists: every Gateway instrument (each made to move once) beside the standard ASP.NET Core,
    // HttpClient and runtime instruments, as metric families of one scrape.
    [Fact]
    public async Task Metrics_serve_every_gateway_instrument_and_the_standard_aspnetcore_httpclient_and_runtime_ones()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "1", ["OUTBOX_MAX_ATTEMPTS"] = "1" });
        await app.AuthorizeAsync(clock.GetUtcNow().AddMinutes(1));
        using var client = app.CreateKeyedClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/account")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);
        amo.State.EnqueueResponse("/api/v4/leads/unsorted/forms", 400, """{"title":"Bad Request","status":400,"detail":"refused"}""", "application/problem+json");
        await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);
        await Task.WhenAll(client.GetAsync("/api/v1/info/pipelines"), client.GetAsync("/api/v1/info/lead-fields"));
        var text = await ScrapeAsync(client);

        var families = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet(StringComparer.Ordinal);
        string[] expected =
        [
            "gateway_http_requests_total", "gateway_http_request_duration_seconds", "gateway_amo_requests_total", "gateway_amo_request_duration_seconds",
            "gateway_token_refreshes_total", "gateway_leads_accepted_total", "gateway_leads_delivered_total", "gateway_leads_failed_total", "gateway_amo_rate_limit_waits_total",
            "gateway_amo_rate_limit_wait_seconds_total", "gateway_database_up", "gateway_outbox_leads", "gateway_outbox_notes_pending",
            "gateway_outbox_oldest_queued_age_seconds", "gateway_token_can_deliver", "gateway_token_state",
            "http_server_request_duration_seconds", "http_server_active_requests", "http_client_request_duration_seconds",
            "dotnet_gc_collections_total", "dotnet_process_memory_working_set_bytes", "dotnet_thread_pool_queue_length_total",
        ];
        Assert.Empty(expected.Except(families));
    }

    // OpenTelemetry listens to meters by name, process-wide; each host still counts only what it did itself.
    [Fact]
    public async Task Two_gateways_in_one_process_each_serve_only_their_own_counts()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var busy = new GatewayApp(amo);
        await using var idle = new GatewayApp(amo);
        await busy.AuthorizeAsync();
        using var busyClient = busy.CreateKeyedClient();
        using var idleClient = idle.CreateKeyedClient();

        Assert.Equal(HttpStatusCode.OK, (await busyClient.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).StatusCode);
        var busyText = await ScrapeAsync(busyClient);
        var idleText = await ScrapeAsync(idleClient);

        Assert.Equal(1, Sample(busyText, "gateway_leads_delivered_total", $"account=\"{Account}\""));
        Assert.Null(Sample(idleText, "gateway_leads_delivered_total", $"account=\"{Account}\""));
        Assert.Null(Sample(idleText, "gateway_http_requests_total", "route=\"/api/v1/leads/unsorted\",method=\"POST\",status=\"200\""));
        Assert.Equal(0, Sample(idleText, "gateway_token_can_deliver", $"account=\"{Account}\""));
    }

    internal static async Task<string> ScrapeAsync(HttpClient client)
    {
        var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    // The sample whose label set is exactly the one given, in any order (Prometheus' own reading: OpenTelemetry's
    // exporter writes labels sorted by name, and an unlabelled sample as name{}).
    internal static double? Sample(string text, string name, string? labels)
    {
        var wanted = LabelSet(labels ?? "");
        foreach (var line in text.Split('\n'))
        {
            var match = SampleLine().Match(line);
            if (match.Success && match.Groups["name"].Value == name && LabelSet(match.Groups["labels"].Value).SetEquals(wanted))
            {
                return double.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    private static HashSet<string> LabelSet(string labels) =>
        LabelPair().Matches(labels).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"[a-zA-Z_][a-zA-Z0-9_]*=""([^""\\]|\\.)*""")]
    private static partial Regex LabelPair();

    private static async Task ApiAssertUnauthorizedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Invalid or missing API key", (string?)(await response.ReadObjectAsync())["error"]);
    }

    [GeneratedRegex("""^(# (HELP|TYPE) [a-z_]+ .*|[a-z_]+(\{([a-z_]+="([^"\\\n]|\\.)*",?)*\})? [0-9.eE+-]+|[a-z_]+\{.*\} \+Inf)$""")]
    private static partial Regex ExpositionLine();
}
