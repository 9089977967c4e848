using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Bench;

// Issue 19's scenarios.
// burst: 500 leads with a note each from 16 (and 64) callers that each wait for their answer, amoCRM at 7 calls/s; the
//   bound is 20 calls (10 lead batches, 10 note batches) at 7/s. All answered and all delivered within 1.5x is the budget.
// outage: amoCRM down GATEWAY_BENCH_OUTAGE_SECONDS (600) while leads arrive (about 80/s), then back: the first delivery
//   should come within 30 s of the recovery and the backlog drain within 15 % of its bound.
// pgintake: PostgreSQL intake (delivery paused) at 16 clients on one instance, and on three instances sharing the database.
internal static class BurstBench
{
    private static readonly int OutageSeconds = int.TryParse(Environment.GetEnvironmentVariable("GATEWAY_BENCH_OUTAGE_SECONDS"), CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 600;

    public static async Task RunAsync(string scenario, StringBuilder markdown, JsonObject results)
    {
        if (scenario == "burst")
        {
            await BurstAsync(markdown, results);
        }
        else if (scenario == "outage")
        {
            await OutageAsync(markdown, results);
        }
        else
        {
            await PostgresIntakeAsync(markdown, results);
        }

        markdown.AppendLine(CultureInfo.InvariantCulture, $"Load average when done: {LoadAverage()}").AppendLine();
    }

    private static async Task BurstAsync(StringBuilder markdown, JsonObject results)
    {
        markdown.AppendLine("### Burst: 500 leads with a note each from waiting callers (emulator at 7 requests/s)").AppendLine()
            .AppendLine("| callers | answered and delivered in s | bound s | ratio | lead calls | note calls | 200s | 202s | p50 answer ms | p99 answer ms | 429s |")
            .AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        var rows = new JsonArray();
        const int count = 500;
        foreach (var callers in new[] { 16, 64 })
        {
            await using var env = await Environment_.StartAsync(authorize: true, emulatorRate: 7);
            using var http = env.GatewayClient(callers);
            var latencies = new double[count];
            var statuses = new int[count];
            var next = -1;
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var started = Stopwatch.GetTimestamp();
                    statuses[i] = await PostAsync(http, i, withNote: true);
                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                }
            }));
            var answered = watch.Elapsed.TotalSeconds;
            while ((await env.EmulatorStatsAsync()) is var progress && (progress["leads"]!.GetValue<int>() < count || progress["notes"]!.GetValue<int>() < count))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
            }

            var seconds = watch.Elapsed.TotalSeconds;
            var stats = await env.EmulatorStatsAsync();
            var leadCalls = await env.EmulatorCallsAsync("/api/v4/leads/unsorted/forms");
            var noteCalls = await env.EmulatorCallsAsync("/api/v4/leads/notes");
            var bound = 20 / 7.0;
            var sorted = latencies.Order().ToArray();
            var (p50, p99) = (sorted[count / 2], sorted[(int)Math.Ceiling(count * 0.99) - 1]);
            var (ok, accepted) = (statuses.Count(c => c == 200), statuses.Count(c => c == 202));
            markdown.AppendLine(CultureInfo.InvariantCulture, $"| {callers} | {seconds:F2} (all answered at {answered:F2}) | {bound:F2} | {seconds / bound:F2} | {leadCalls} | {noteCalls} | {ok} | {accepted} | {p50:F0} | {p99:F0} | {stats["rate_limited_responses"]} |");
            rows.Add(new JsonObject
            {
                ["callers"] = callers,
                ["leads"] = count,
                ["seconds"] = Math.Round(seconds, 3),
                ["answered_seconds"] = Math.Round(answered, 3),
                ["bound_seconds"] = Math.Round(bound, 3),
                ["lead_calls"] = leadCalls,
                ["note_calls"] = noteCalls,
                ["answered_200"] = ok,
                ["answered_202"] = accepted,
                ["other_answers"] = count - ok - accepted,
                ["p50_ms"] = Math.Round(p50, 1),
                ["p99_ms"] = Math.Round(p99, 1),
                ["rate_limited"] = stats["rate_limited_responses"]!.DeepClone(),
            });
        }

        results["burst"] = rows;
        markdown.AppendLine();
    }

    private static async Task OutageAsync(StringBuilder markdown, JsonObject results)
    {
        markdown.AppendLine(CultureInfo.InvariantCulture, $"### Outage: amoCRM down {OutageSeconds} s while leads arrive (8 callers, 100 ms apart each), then back (emulator at 7 requests/s)").AppendLine()
            .AppendLine("| queued at recovery | first delivery after recovery s | drained after first delivery s | bound s | ratio | calls during outage | 429s |")
            .AppendLine("|---|---|---|---|---|---|---|");
        await using var env = await Environment_.StartAsync(authorize: true, emulatorRate: 7);
        using var http = env.GatewayClient(8);
        await env.SetFaultsAsync(new JsonObject { ["outage"] = true });
        var posted = 0;
        var outage = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async w =>
        {
            while (outage.Elapsed.TotalSeconds < OutageSeconds)
            {
                if (await PostAsync(http, Interlocked.Increment(ref posted), withNote: false) is not (200 or 202))
                {
                    throw new InvalidOperationException("a lead was not accepted");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
            }
        }));

        var callsDuringOutage = (await env.EmulatorStatsAsync())["requests"]?.GetValue<int>() ?? -1;
        await env.SetFaultsAsync(new JsonObject { ["outage"] = false });
        var recovery = Stopwatch.StartNew();
        double? first = null;
        while ((await env.EmulatorStatsAsync()) is var progress && progress["leads"]!.GetValue<int>() < posted)
        {
            if (first is null && progress["leads"]!.GetValue<int>() > 0)
            {
                first = recovery.Elapsed.TotalSeconds;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }

        first ??= recovery.Elapsed.TotalSeconds;
        var drained = recovery.Elapsed.TotalSeconds - first.Value;
        var stats = await env.EmulatorStatsAsync();
        var bound = Math.Ceiling(posted / 50.0) / 7.0;
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {posted} | {first:F1} | {drained:F2} | {bound:F2} | {drained / bound:F2} | {callsDuringOutage} | {stats["rate_limited_responses"]} |");
        results["outage"] = new JsonObject
        {
            ["outage_seconds"] = OutageSeconds,
            ["queued_at_recovery"] = posted,
            ["first_delivery_after_recovery_seconds"] = Math.Round(first.Value, 2),
            ["drain_seconds"] = Math.Round(drained, 3),
            ["bound_seconds"] = Math.Round(bound, 3),
            ["calls_during_outage"] = callsDuringOutage,
            ["rate_limited"] = stats["rate_limited_responses"]!.DeepClone(),
        };
        markdown.AppendLine();
    }

    private static async Task PostgresIntakeAsync(StringBuilder markdown, JsonObject results)
    {
        if (!BenchDatabase.Available().Contains("postgresql"))
        {
            markdown.AppendLine(CultureInfo.InvariantCulture, $"PostgreSQL intake not run: no server at {BenchDatabase.ServerVariable}.");
            return;
        }

        markdown.AppendLine("### PostgreSQL intake, delivery paused (synchronous_commit=on, server on the same machine)").AppendLine()
            .AppendLine("| instances | clients | leads/s | p50 ms | p99 ms | errors |").AppendLine("|---|---|---|---|---|---|");
        var rows = new JsonArray();
        foreach (var (instances, clientsEach) in new[] { (1, 16), (1, 48), (3, 16) })
        {
            await using var env = await Environment_.StartAsync(authorize: false, emulatorRate: 7, database: "postgresql");
            var others = new List<ServerProcess>();
            for (var i = 1; i < instances; i++)
            {
                others.Add(await env.StartAnotherGatewayAsync());
            }

            try
            {
                var clients = new[] { env.Gateway }.Concat(others).Select(g => Client(g, clientsEach)).ToList();
                var runs = await Task.WhenAll(clients.Select(c => Load.RunAsync(clientsEach, TimeSpan.FromSeconds(10), async (h, i) => await PostAsync(h, i) is 200 or 202, c)));
                var perSecond = runs.Sum(r => r.PerSecond);
                var p50 = runs.Max(r => r.P50Ms);
                var p99 = runs.Max(r => r.P99Ms);
                var errors = runs.Sum(r => r.Errors);
                markdown.AppendLine(CultureInfo.InvariantCulture, $"| {instances} | {instances * clientsEach} | {perSecond:F0} | {p50:F1} | {p99:F1} | {errors} |");
                rows.Add(new JsonObject { ["instances"] = instances, ["clients"] = instances * clientsEach, ["leads_per_second"] = Math.Round(perSecond), ["p50_ms"] = p50, ["p99_ms"] = p99, ["errors"] = errors });
                clients.ForEach(c => c.Dispose());
            }
            finally
            {
                foreach (var other in others)
                {
                    await other.DisposeAsync();
                }
            }
        }

        results["pgintake"] = rows;
        markdown.AppendLine();
    }

    private static HttpClient Client(ServerProcess gateway, int connections)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = gateway.Url, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-API-KEY", ApiKeyHolder.Key);
        return client;
    }

    private static async Task<int> PostAsync(HttpClient client, int i, bool withNote = false)
    {
        var comment = withNote ? ""","comment":"Bench comment" """ : "";
        var body = $$$"""{"source":"bench","form_name":"Bench","lead":{"name":"Bench lead {{{i}}}","price":1000},"contact":{"name":"Bench","phone":"+99890{{{Math.Abs(i):D7}}}"}{{{comment}}}}""";
        using var response = await client.PostAsync("/api/v1/leads/unsorted", new StringContent(body, Encoding.UTF8, "application/json"));
        return (int)response.StatusCode;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
