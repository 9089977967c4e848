using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Observability;

// The real process, as systemd or docker runs it (stdout not a terminal): one JSON object per line, scopes included.
public sealed class StructuredLogTests
{
    [Fact]
    [Trait("Kind", "Process")]
    public async Task Every_line_of_a_request_is_json_and_names_its_request_id()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?> { ["LOG_LEVEL"] = "debug" });
        await using var gateway = await GatewayProcess.StartAsync(environment, dir);
        using var client = gateway.CreateKeyedClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/info/account");
        request.Headers.Add("X-Request-Id", "support-ticket-4711");

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        await Eventually.TrueAsync(() => Lines(gateway).Any(l => Message(l).StartsWith("HTTP GET /api/v1/info/account", StringComparison.Ordinal)), "the access log line");

        var lines = Lines(gateway);
        var mine = lines.Where(l => RequestIdOf(l) == "support-ticket-4711").ToList();
        var amoCall = Assert.Single(mine, l => Message(l).StartsWith("amoCRM GET /api/v4/account answered 200", StringComparison.Ordinal));
        Assert.Matches("^[0-9a-f]{32}$", (string?)amoCall["State"]!["AmoRequestId"]);
        var access = Assert.Single(mine, l => Message(l).StartsWith("HTTP GET /api/v1/info/account answered 200", StringComparison.Ordinal));
        Assert.Equal("Debug", (string?)access["LogLevel"]);
        Assert.NotNull((string?)access["Timestamp"]);
    }

    [Fact]
    [Trait("Kind", "Process")]
    public async Task Background_delivery_lines_name_the_leads_instead_of_a_request()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?> { ["LOG_LEVEL"] = "information", ["LOG_FORMAT"] = "json" });
        await using var gateway = await GatewayProcess.StartAsync(environment, dir);
        using var client = gateway.CreateKeyedClient();

        var answer = await (await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead)).ReadObjectAsync();
        var id = (long)answer["data"]!["id"]!;
        await Eventually.TrueAsync(() => Lines(gateway).Any(l => Message(l).StartsWith("amoCRM POST /api/v4/leads/unsorted/forms answered 200", StringComparison.Ordinal)), "the delivery line");

        var delivery = Lines(gateway).Single(l => Message(l).StartsWith("amoCRM POST /api/v4/leads/unsorted/forms", StringComparison.Ordinal));
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), ScopeValue(delivery, "LeadIds"));
        Assert.Null(RequestIdOf(delivery));
    }

    // With nothing exported at all: the trace id is the caller's, on the request's lines and on the outbox's.
    [Fact]
    [Trait("Kind", "Process")]
    public async Task Every_line_of_a_lead_names_the_callers_trace_id_the_background_delivery_too()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?> { ["LOG_LEVEL"] = "information", ["LOG_FORMAT"] = "json" });
        await using var gateway = await GatewayProcess.StartAsync(environment, dir);
        using var client = gateway.CreateKeyedClient();
        var traceId = System.Diagnostics.ActivityTraceId.CreateRandom();

        await TracingTests.PostLeadAsync(client, traceId, HttpStatusCode.OK);
        await Eventually.TrueAsync(() => Lines(gateway).Any(l => Message(l).StartsWith("HTTP POST /api/v1/leads/unsorted answered", StringComparison.Ordinal)), "the access log line");

        var lines = Lines(gateway);
        var access = Assert.Single(lines, l => Message(l).StartsWith("HTTP POST /api/v1/leads/unsorted answered", StringComparison.Ordinal));
        var delivery = Assert.Single(lines, l => Message(l).StartsWith("amoCRM POST /api/v4/leads/unsorted/forms answered 200", StringComparison.Ordinal));
        Assert.Equal(traceId.ToHexString(), ScopeValue(access, "TraceId"));
        Assert.Equal(traceId.ToHexString(), ScopeValue(delivery, "TraceId"));
        Assert.NotNull(ScopeValue(delivery, "LeadIds"));
    }

    [Fact]
    [Trait("Kind", "Process")]
    public async Task Text_format_is_one_readable_line_with_the_request_id()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?> { ["LOG_LEVEL"] = "information", ["LOG_FORMAT"] = "text" });
        await using var gateway = await GatewayProcess.StartAsync(environment, dir);
        using var client = gateway.CreateKeyedClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/no/such/route");
        request.Headers.Add("X-Request-Id", "text-format-1");

        await client.SendAsync(request);
        await Eventually.TrueAsync(() => gateway.Output.Contains("HTTP GET /no/such/route answered 404", StringComparison.Ordinal), "the access log line");

        var line = gateway.Output.Split('\n').Single(l => l.Contains("HTTP GET /no/such/route answered 404", StringComparison.Ordinal));
        Assert.Contains("RequestId:text-format-1", line, StringComparison.Ordinal);
        Assert.False(line.TrimStart().StartsWith('{'));
    }

    [Theory]
    [InlineData("LOG_FORMAT", "xml")]
    [InlineData("LOG_LEVEL", "loud")]
    [InlineData("METRICS_ENABLED", "perhaps")]
    [InlineData("METRICS_TOKEN", "short")]
    public async Task A_bad_observability_setting_stops_startup_naming_it(string setting, string value)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { [setting] = value });

        var failure = Record.Exception(() => app.CreateClient());

        Assert.NotNull(failure);
        Assert.Contains(setting, Gateway.Hosting.StartupFailure.Describe(failure) ?? failure.ToString(), StringComparison.Ordinal);
    }

    private static List<JsonObject> Lines(GatewayProcess gateway) =>
        gateway.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith('{'))
            .Select(l => JsonNode.Parse(l)!.AsObject())
            .ToList();

    private static string Message(JsonObject line) => (string?)line["Message"] ?? "";

    private static string? RequestIdOf(JsonObject line) => ScopeValue(line, "RequestId");

    private static string? ScopeValue(JsonObject line, string name) =>
        (line["Scopes"] as JsonArray ?? []).OfType<JsonObject>().Select(s => (string?)s[name]).LastOrDefault(v => v is not null);
}
