using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Operations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;

namespace Gateway.Tests.Observability;

// What leaves the gateway as telemetry (span attributes, metric labels, exported logs) carries ids and counts, never a
// token, a key, a consent code, a caller's address or a lead's personal data; as the logs are scanned, so are these.
public sealed class TelemetrySecretsTests
{
    private const string Lead = """{"lead":{"name":"Dilnoza Traced"},"contact":{"name":"Rahima Spanova","phone":"+998909998877","email":"span.person@example.uz"},"comment":"call after six, gate code 4471"}""";
    private const string CallerAddress = "203.0.113.77";
    private const string MetricsToken = "scrape-token-otel-0123456789";

    private static readonly string[] Personal = ["Dilnoza Traced", "Rahima Spanova", "+998909998877", "998909998877", "span.person@example.uz", "gate code 4471", CallerAddress];

    [Fact]
    public async Task Spans_and_metric_labels_of_a_full_lifecycle_carry_no_secret_address_or_personal_data()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var spans = new Spans();
        await using var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?> { ["METRICS_TOKEN"] = MetricsToken }) { TestServices = spans.AddTo };
        using var client = app.CreateKeyedClient();
        var traceId = ActivityTraceId.CreateRandom();

        var secrets = await LiveThroughAsync(app, client, clock, traceId);
        var metrics = await MetricsTests.ScrapeAsync(client);
        await Eventually.TrueAsync(() => spans.Of(traceId).Any(s => s.OperationName == "outbox.settle"), "the delivery's spans");
        secrets.AddRange(Secrets(amo));

        Assert.Contains(spans.Of(traceId), s => s.OperationName == "amo.call");
        Assert.Contains(spans.All, s => s.OperationName == "amo.token.refresh");
        foreach (var span in spans.All)
        {
            Assert.Null(span.GetTagItem("client.address"));
            foreach (var text in Spans.TextOf(span))
            {
                AssertClean(text, secrets, $"span {span.OperationName}");
            }
        }

        AssertClean(metrics, secrets, "/metrics");
    }

    [Fact]
    public async Task With_an_OTLP_endpoint_traces_metrics_and_logs_reach_the_collector_and_carry_no_secret_or_personal_data()
    {
        await using var collector = await OtlpCollector.StartAsync();
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var traceId = ActivityTraceId.CreateRandom();
        List<string> secrets;
        await using (var app = new GatewayApp(amo, clock, settings: new Dictionary<string, string?>
        {
            ["METRICS_TOKEN"] = MetricsToken,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        })
        {
            // The test host clears the log providers for its own capture: OpenTelemetry's comes back, as the gateway has it.
            TestServices = services => services.AddLogging(logging => logging.AddOpenTelemetry()),
        })
        {
            using var client = app.CreateKeyedClient();
            secrets = await LiveThroughAsync(app, client, clock, traceId);
            await Eventually.TrueAsync(() => collector.Received("traces", traceId.ToHexString()), "the lead's trace at the collector", TimeSpan.FromSeconds(20));
        }

        secrets.AddRange(Secrets(amo));
        Assert.True(collector.Received("metrics", "gateway.leads.delivered"), "the Gateway meter's instruments at the collector");
        Assert.True(collector.Received("logs", "answered"), "log records at the collector");
        foreach (var (signal, body) in collector.Bodies)
        {
            AssertClean(body, secrets, "OTLP " + signal);
        }
    }

    // Consent, a lead from behind the proxy, an expiry and its refresh, a failing amoCRM, a scrape with the token.
    private static async Task<List<string>> LiveThroughAsync(GatewayApp app, HttpClient client, TestTimeProvider clock, ActivityTraceId traceId)
    {
        var redirect = await GatewayApp.ConsentRedirectAsync(client);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/oauth/callback" + redirect.Query)).StatusCode);
        var query = System.Web.HttpUtility.ParseQueryString(redirect.Query);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/leads/unsorted") { Content = new StringContent(Lead, Encoding.UTF8, "application/json") };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        request.Headers.Add("X-Forwarded-For", CallerAddress);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        clock.Advance(TimeSpan.FromHours(25));
        await client.PostJsonAsync("/api/v1/leads/unsorted", Lead);
        app.Amo.State.Outage = true;
        await client.PostJsonAsync("/api/v1/leads/unsorted", Lead);
        app.Amo.State.Outage = false;
        await client.GetAsync("/api/v1/info/account");
        using var anonymous = app.CreateAnonymousClient();
        using var scrape = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new("Bearer", MetricsToken) } };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(scrape)).StatusCode);
        return [GatewayApp.ApiKey, MetricsToken, query["code"]!, query["state"]!, .. Personal];
    }

    private static IEnumerable<string> Secrets(AmoEmulator amo) =>
        amo.State.IssuedSecrets
            .Append(amo.Options.ClientSecret)
            .Concat(amo.State.Requests.Where(r => r.Bearer is not null).Select(r => r.Bearer!))
            .Concat(amo.State.Requests.Where(r => r.Path == "/oauth2/access_token").SelectMany(r => TokensIn(r.Body)));

    private static IEnumerable<string> TokensIn(string body) =>
        JsonNode.Parse(body) is JsonObject json
            ? new[] { "refresh_token", "code", "client_secret" }.Select(k => (string?)json[k]).OfType<string>()
            : [];

    private static void AssertClean(string text, IEnumerable<string> secrets, string where)
    {
        foreach (var secret in secrets.Where(s => s.Length >= 8).Distinct())
        {
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{where} carries a secret or personal value ({secret.Length} characters)");
        }
    }

    // A tiny OTLP/HTTP receiver on loopback: it keeps every body as sent (protobuf keeps strings as UTF-8 bytes, so a
    // byte-level scan finds any value a span, a metric or a log record carries).
    private sealed class OtlpCollector : IAsyncDisposable
    {
        private readonly WebApplication app;
        private readonly ConcurrentQueue<(string Signal, string Body)> bodies = new();

        private OtlpCollector(WebApplication app) => this.app = app;

        public string Endpoint => app.Urls.First();

        public IReadOnlyList<(string Signal, string Body)> Bodies => bodies.ToList();

        public static async Task<OtlpCollector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var collector = new OtlpCollector(app);
            app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
            {
                using var buffer = new MemoryStream();
                await request.Body.CopyToAsync(buffer);
                collector.bodies.Enqueue((signal, Encoding.Latin1.GetString(buffer.ToArray())));
                return Results.Bytes([], "application/x-protobuf");
            });
            await app.StartAsync();
            return collector;
        }

        // A trace id travels as 16 raw bytes; anything else as its UTF-8 text.
        public bool Received(string signal, string what)
        {
            var needle = what.Length == 32 && what.All(Uri.IsHexDigit) ? Encoding.Latin1.GetString(Convert.FromHexString(what)) : Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(what));
            return bodies.Any(b => b.Signal == signal && b.Body.Contains(needle, StringComparison.Ordinal));
        }

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }
}
