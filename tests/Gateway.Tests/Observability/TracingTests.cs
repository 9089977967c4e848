using System.Diagnostics;
using System.Net;
using System.Text;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace Gateway.Tests.Observability;

// One trace per lead: the caller's traceparent, the intake, and every delivery attempt (stored with the row, so a later
// attempt, a restart or another instance joins the same trace), with the amoCRM calls inside.
public sealed class TracingTests
{
    private const string Forms = "/api/v4/leads/unsorted/forms";

    [Fact]
    public async Task A_lead_retried_twice_and_delivered_is_one_trace_holding_each_attempt_and_its_amoCRM_call()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var spans = new Spans();
        await using var app = new GatewayApp(amo, clock) { TestServices = spans.AddTo };
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.EnqueueResponse(Forms, 503, "{}", "application/json");
        amo.State.EnqueueResponse(Forms, 503, "{}", "application/json");
        var traceId = ActivityTraceId.CreateRandom();

        var id = await PostLeadAsync(client, traceId, HttpStatusCode.Accepted);
        await clock.AdvanceUntilAsync(TimeSpan.FromSeconds(1), () => client.AllDeliveredAsync([id]), "the lead delivered");
        await Eventually.TrueAsync(() => spans.Of(traceId).Count(s => s.OperationName == "outbox.settle") == 3, "the third settlement's span");

        var trace = spans.Of(traceId);
        // The emulator's own server spans join the trace too (the call carries the traceparent): the gateway's is the intake's.
        var request = Assert.Single(trace, s => s.Kind == ActivityKind.Server && Equals(s.GetTagItem("http.route"), "/api/v1/leads/unsorted"));
        var intake = Assert.Single(trace, s => s.OperationName == "leads.intake");
        Assert.Equal(request.SpanId, intake.ParentSpanId);
        Assert.Single(trace, s => s.OperationName == "outbox.store" && s.ParentSpanId == intake.SpanId);
        var attempts = trace.Where(s => s.OperationName == "outbox.deliver leads").OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(3, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(intake.SpanId, a.ParentSpanId));
        Assert.Equal([1L, 2L, 3L], attempts.Select(a => Convert.ToInt64(a.GetTagItem("gateway.attempt"), System.Globalization.CultureInfo.InvariantCulture)));
        var statuses = new List<object?>();
        foreach (var attempt in attempts)
        {
            var inside = Descendants(trace, attempt);
            Assert.Contains(inside, s => s.OperationName == "outbox.claim");
            Assert.Contains(inside, s => s.OperationName == "amo.pacing.wait");
            Assert.Contains(inside, s => s.OperationName == "outbox.settle");
            var call = Assert.Single(inside, s => s.OperationName == "amo.call" && Equals(s.GetTagItem("http.request.method"), "POST"));
            Assert.Equal(ActivityKind.Client, call.Kind);
            Assert.Equal(Forms, call.GetTagItem("url.template"));
            statuses.Add(call.GetTagItem("http.response.status_code"));
            // A 503 may have come from a proxy after amoCRM created the lead: the next attempt looks first, in its own span.
            var looks = inside.Count(s => s.OperationName == "amo.call" && Equals(s.GetTagItem("http.request.method"), "GET"));
            Assert.Equal(attempt == attempts[0] ? 0 : 1, looks);
        }

        Assert.Equal([503, 503, 200], statuses);
        var delivered = Descendants(trace, attempts[2]).Single(s => s.OperationName == "amo.call" && Equals(s.GetTagItem("http.request.method"), "POST"));
        Assert.Equal(ActivityStatusCode.Unset, delivered.Status);
        Assert.Matches("^[0-9a-f]{32}$", (string?)delivered.GetTagItem("amo.request_id"));
        Assert.Equal(traceId.ToHexString(), (string?)(await client.LeadAsync(id))["trace_id"]);
    }

    [Fact]
    public async Task A_lead_taken_by_one_gateway_and_delivered_by_the_next_on_the_same_database_keeps_its_trace()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dataDir = Directory.CreateTempSubdirectory("gateway-trace-").FullName;
        var traceId = ActivityTraceId.CreateRandom();
        long id;
        ActivitySpanId intake;
        var firstSpans = new Spans();
        await using (var first = new GatewayApp(amo, dataDir: dataDir) { TestServices = firstSpans.AddTo })
        {
            // No token yet: the lead waits in the outbox.
            using var client = first.CreateKeyedClient();
            id = await PostLeadAsync(client, traceId, HttpStatusCode.Accepted);
            await Eventually.TrueAsync(() => firstSpans.Of(traceId).Any(s => s.OperationName == "leads.intake"), "the intake span");
            intake = firstSpans.Of(traceId).Single(s => s.OperationName == "leads.intake").SpanId;
        }

        var secondSpans = new Spans();
        await using var second = new GatewayApp(amo, dataDir: dataDir) { TestServices = secondSpans.AddTo };
        await second.AuthorizeAsync();
        using var secondClient = second.CreateKeyedClient();
        await Eventually.TrueAsync(() => secondClient.AllDeliveredAsync([id]), "the lead delivered by the second gateway");
        await Eventually.TrueAsync(() => secondSpans.Of(traceId).Any(s => s.OperationName == "outbox.settle"), "the settlement's span");

        var attempt = Assert.Single(secondSpans.Of(traceId), s => s.OperationName == "outbox.deliver leads");
        Assert.Equal(intake, attempt.ParentSpanId);
        Assert.Contains(Descendants(secondSpans.Of(traceId), attempt), s => s.OperationName == "amo.call" && Equals(s.GetTagItem("http.response.status_code"), 200));
        Assert.Equal(traceId.ToHexString(), (string?)(await secondClient.LeadAsync(id))["trace_id"]);
    }

    [Fact]
    public async Task A_token_refresh_is_a_span_inside_the_request_that_needed_it()
    {
        var clock = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), clock);
        var spans = new Spans();
        await using var app = new GatewayApp(amo, clock) { TestServices = spans.AddTo };
        await app.AuthorizeAsync(clock.GetUtcNow().AddMinutes(1));
        using var client = app.CreateKeyedClient();
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/info/account");
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        await Eventually.TrueAsync(() => spans.Of(traceId).Any(s => s.Kind == ActivityKind.Server && Equals(s.GetTagItem("http.route"), "/api/v1/info/account")), "the request span");

        var trace = spans.Of(traceId);
        var refresh = Assert.Single(trace, s => s.OperationName == "amo.token.refresh");
        Assert.Equal(true, refresh.GetTagItem("gateway.refreshed"));
        Assert.Contains(Descendants(trace, refresh), s => s.OperationName == "amo.call" && Equals(s.GetTagItem("url.template"), "/oauth2/access_token"));
        Assert.Contains(trace, s => s.OperationName == "amo.call" && Equals(s.GetTagItem("url.template"), "/api/v4/account"));
    }

    [Fact]
    public async Task Without_an_OTLP_endpoint_no_tracer_is_built_and_the_lead_still_names_its_trace()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var traceId = ActivityTraceId.CreateRandom();

        var id = await PostLeadAsync(client, traceId, HttpStatusCode.OK);

        Assert.Null(app.Services.GetService<TracerProvider>());
        Assert.Equal(traceId.ToHexString(), (string?)(await client.LeadAsync(id))["trace_id"]);
    }

    internal static async Task<long> PostLeadAsync(HttpClient client, ActivityTraceId traceId, HttpStatusCode expected, string body = Json.MinimalLead)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/leads/unsorted") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        var response = await client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        return (long)(await response.ReadObjectAsync())["data"]!["id"]!;
    }

    private static List<Activity> Descendants(IReadOnlyList<Activity> trace, Activity root)
    {
        var found = new List<Activity>();
        var frontier = new Queue<ActivitySpanId>([root.SpanId]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var child in trace.Where(s => s.ParentSpanId == parent))
            {
                found.Add(child);
                frontier.Enqueue(child.SpanId);
            }
        }

        return found;
    }
}
