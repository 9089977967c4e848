using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Bench;

// dotnet run -c Release --project bench/Gateway.Bench -- overhead|intake|drain|lost|refresh|footprint|all
// dotnet run -c Release --project bench/Gateway.Bench -- accounts   (ten accounts, ten emulators: not part of all)
// dotnet run -c Release --project bench/Gateway.Bench -- tilda      (form webhooks, Tilda-shaped: not part of all)
// dotnet run -c Release --project bench/Gateway.Bench -- burst|outage|pgintake   (issue 19: not part of all)
// dotnet run -c Release --project bench/Gateway.Bench -- link   (issue 17: lead mode at 0/50/100 % contact cache hits)
//   GATEWAY_BENCH_EXECUTABLE=DIR/Gateway runs those against that file (the Native AOT build) instead of Gateway.dll.
// dotnet run -c Release --project bench/Gateway.Bench -- builds [DIR/Gateway]
//   the JIT build and, when given, the native executable side by side: binary, ready, RSS, throughput.
var scenario = args.FirstOrDefault() ?? "all";
if (Environment.GetEnvironmentVariable("GATEWAY_BENCH_EXECUTABLE") is { Length: > 0 } benchExecutable)
{
    Environment_.GatewayExecutable = RequireExecutable(benchExecutable);
}

var results = new JsonObject
{
    ["machine"] = $"{Environment.ProcessorCount} cores, {Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1024.0 / 1024 / 1024)} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
    ["runtime"] = Environment.Version.ToString(),
    ["date"] = TimeProvider.System.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
};
var markdown = new StringBuilder();

if (scenario is "overhead" or "all")
{
    markdown.AppendLine(CultureInfo.InvariantCulture, $"### Overhead ({(Wrk.Available ? "wrk" : "HttpClient closed loop")}, 5 s per row after a 2 s warm-up)").AppendLine()
        .AppendLine("| target | connections | requests/s | p50 ms | p99 ms | p99.9 ms | errors |").AppendLine("|---|---|---|---|---|---|---|");
    var rows = new JsonArray();
    await using var env = await Environment_.StartAsync(authorize: true, emulatorRate: 0);
    var token = await env.EmulatorTokenAsync();
    var targets = new (string Name, Uri Url, Dictionary<string, string> Headers)[]
    {
        ("gateway GET /api/v1/info/pipelines (cached)", new Uri(env.Gateway.Url, "/api/v1/info/pipelines"), new() { ["X-API-KEY"] = ApiKeyHolder.Key }),
        ("gateway GET /health", new Uri(env.Gateway.Url, "/health"), new()),
        ("emulator GET /api/v4/leads/pipelines (floor)", new Uri(env.Emulator.Url, "/api/v4/leads/pipelines"), new() { ["Authorization"] = "Bearer " + token }),
    };
    foreach (var (name, url, headers) in targets)
    {
        foreach (var connections in new[] { 1, 16, 64 })
        {
            await MeasureAsync(url, connections, TimeSpan.FromSeconds(2), headers);
            var result = await MeasureAsync(url, connections, TimeSpan.FromSeconds(5), headers);
            markdown.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {connections} | {result.PerSecond:F0} | {result.P50Ms:F2} | {result.P99Ms:F2} | {result.P999Ms:F2} | {result.Errors} |");
            var row = JsonSerializer.SerializeToNode(result)!.AsObject();
            row["target"] = name;
            rows.Add(row);
        }
    }

    results["overhead"] = rows;
    markdown.AppendLine();
}

if (scenario is "intake" or "all")
{
    markdown.AppendLine("### Intake: leads acknowledged durably (SQLite synchronous=FULL; PostgreSQL synchronous_commit=on)").AppendLine()
        .AppendLine("| database | delivery | clients | leads/s | p50 ms | p99 ms | p99.9 ms | errors |").AppendLine("|---|---|---|---|---|---|---|---|");
    var rows = new JsonArray();
    foreach (var database in BenchDatabase.Available())
    {
        foreach (var delivering in new[] { false, true })
        {
            foreach (var clients in new[] { 16, 64 })
            {
                await using var env = await Environment_.StartAsync(authorize: delivering, emulatorRate: 7, database: database);
                using var http = env.GatewayClient(clients);
                var result = await Load.RunAsync(clients, TimeSpan.FromSeconds(10), (c, i) => PostLeadAsync(c, i), http);
                markdown.AppendLine(CultureInfo.InvariantCulture, $"| {database} | {(delivering ? "running" : "paused")} | {clients} | {result.PerSecond:F0} | {result.P50Ms:F1} | {result.P99Ms:F1} | {result.P999Ms:F1} | {result.Errors} |");
                var row = JsonSerializer.SerializeToNode(result)!.AsObject();
                row["database"] = database;
                row["delivery"] = delivering ? "running" : "paused";
                row["gateway_rss_mb"] = env.Gateway.ResidentBytes() / 1024 / 1024;
                rows.Add(row);
            }
        }
    }

    if (!BenchDatabase.Available().Contains("postgresql"))
    {
        markdown.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"PostgreSQL rows not run: no server at {BenchDatabase.ServerVariable} (see `.ci/postgres`).");
    }

    results["intake"] = rows;
    markdown.AppendLine();
}

if (scenario is "tilda")
{
    // Issue 16: Tilda-shaped submissions (form-encoded, Uzbek field names, tranid, the cookie with TILDAUTM) to
    // /hooks/tilda/{key}: each stored raw (sealed) and as a lead, answered "ok" without waiting for amoCRM.
    markdown.AppendLine("### Form webhooks: Tilda-shaped submissions stored durably (raw + lead; SQLite synchronous=FULL)").AppendLine()
        .AppendLine("| database | delivery | clients | submissions/s | p50 ms | p99 ms | p99.9 ms | errors |").AppendLine("|---|---|---|---|---|---|---|---|");
    var rows = new JsonArray();
    foreach (var database in BenchDatabase.Available())
    {
        foreach (var delivering in new[] { false, true })
        {
            foreach (var clients in new[] { 16, 64 })
            {
                await using var env = await Environment_.StartAsync(authorize: delivering, emulatorRate: 7, database: database);
                using var http = env.GatewayClient(clients);
                http.DefaultRequestHeaders.Remove("X-API-KEY");
                var result = await Load.RunAsync(clients, TimeSpan.FromSeconds(10), (c, i) => PostTildaAsync(c, i), http);
                markdown.AppendLine(CultureInfo.InvariantCulture, $"| {database} | {(delivering ? "running" : "paused")} | {clients} | {result.PerSecond:F0} | {result.P50Ms:F1} | {result.P99Ms:F1} | {result.P999Ms:F1} | {result.Errors} |");
                var row = JsonSerializer.SerializeToNode(result)!.AsObject();
                row["database"] = database;
                row["delivery"] = delivering ? "running" : "paused";
                rows.Add(row);
            }
        }
    }

    results["tilda"] = rows;
    markdown.AppendLine();
}

if (scenario is "tracing" or "all")
{
    // Three rounds, the modes interleaved within each, the median row kept: the machine is shared, and a slow minute
    // should not be charged to one mode.
    markdown.AppendLine("### Tracing: intake and cached info with tracing off, and exporting every span or a tenth (OTLP/HTTP to a sink on loopback; median of 3 interleaved rounds)").AppendLine()
        .AppendLine("| tracing | target | clients | requests/s | p50 ms | p99 ms | p99.9 ms | errors | spans exported |").AppendLine("|---|---|---|---|---|---|---|---|---|");
    var rows = new JsonArray();
    await using var sink = await OtlpSink.StartAsync();
    var modes = new (string Name, Dictionary<string, string?> Settings)[]
    {
        ("off", []),
        ("100 %", OtlpSink.Tracing(sink.Url, "1.0")),
        ("10 %", OtlpSink.Tracing(sink.Url, "0.1")),
    };
    // Intake with delivery paused (no token): acknowledgement alone, as fast as it goes; delivering, it is bound by amoCRM's 7/s.
    var targets = new[] { ("POST /api/v1/leads/unsorted (SQLite, delivery paused)", true, 64), ("GET /api/v1/info/pipelines (cached)", false, 16) };
    var measured = new Dictionary<(string, string), List<(LoadResult Result, long Spans)>>();
    for (var round = 0; round < 3; round++)
    {
        foreach (var (target, intake, clients) in targets)
        {
            foreach (var (mode, settings) in modes)
            {
                await using var env = await Environment_.StartAsync(authorize: !intake, emulatorRate: 0, extra: settings);
                var before = sink.Spans;
                LoadResult result;
                if (intake)
                {
                    using var http = env.GatewayClient(clients);
                    result = await Load.RunAsync(clients, TimeSpan.FromSeconds(8), (c, i) => PostLeadAsync(c, i), http);
                }
                else
                {
                    var url = new Uri(env.Gateway.Url, "/api/v1/info/pipelines");
                    var key = new Dictionary<string, string> { ["X-API-KEY"] = ApiKeyHolder.Key };
                    await MeasureAsync(url, clients, TimeSpan.FromSeconds(2), key);
                    result = await MeasureAsync(url, clients, TimeSpan.FromSeconds(5), key);
                }

                // The batch exporter sends every 5 s: the last batch gets its turn before the count.
                await Task.Delay(TimeSpan.FromSeconds(6), TimeProvider.System);
                if (!measured.TryGetValue((mode, target), out var list))
                {
                    measured[(mode, target)] = list = [];
                }

                list.Add((result, sink.Spans - before));
            }
        }
    }

    foreach (var (target, _, clients) in targets)
    {
        foreach (var (mode, _) in modes)
        {
            var (result, exported) = measured[(mode, target)].OrderBy(m => m.Result.PerSecond).ElementAt(1);
            markdown.AppendLine(CultureInfo.InvariantCulture, $"| {mode} | {target} | {clients} | {result.PerSecond:F0} | {result.P50Ms:F2} | {result.P99Ms:F2} | {result.P999Ms:F2} | {result.Errors} | {exported} |");
            var row = JsonSerializer.SerializeToNode(result)!.AsObject();
            row["tracing"] = mode;
            row["target"] = target;
            row["spans_exported"] = exported;
            row["rounds_per_second"] = new JsonArray(measured[(mode, target)].Select(m => (JsonNode)Math.Round(m.Result.PerSecond)).ToArray());
            rows.Add(row);
        }
    }

    results["tracing"] = rows;
    markdown.AppendLine();
}

if (scenario is "drain" or "all")
{
    markdown.AppendLine("### Burst drain against amoCRM's 7 requests/s (emulator enforcing it with HTML 429s)").AppendLine()
        .AppendLine("| leads | delivered in s | bound s | amoCRM calls | bound calls | 429s |").AppendLine("|---|---|---|---|---|---|");
    var rows = new JsonArray();
    foreach (var (count, withNotes) in new[] { (1000, false), (10000, false), (1000, true) })
    {
        await using var env = await Environment_.StartAsync(authorize: false, emulatorRate: 7);
        using var http = env.GatewayClient(64);
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= count)
            {
                if (!await PostLeadAsync(http, i, withNotes))
                {
                    throw new InvalidOperationException("a lead was not accepted");
                }
            }
        }));

        // The burst is stored while the account has no token; consent releases it all at once.
        var watch = Stopwatch.StartNew();
        await env.AuthorizeAsync();
        while ((await env.EmulatorStatsAsync()) is var progress && (progress["leads"]!.GetValue<int>() < count || (withNotes && progress["notes"]!.GetValue<int>() < count)))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }

        var seconds = watch.Elapsed.TotalSeconds;
        var stats = await env.EmulatorStatsAsync();
        var calls = await env.EmulatorCallsAsync("/api/v4/leads/unsorted/forms") + await env.EmulatorCallsAsync("/api/v4/leads/notes");
        var boundCalls = (int)Math.Ceiling(count / 50.0) * (withNotes ? 2 : 1);
        var bound = boundCalls / 7.0;
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {count}{(withNotes ? " with a note each" : "")} | {seconds:F2} | {bound:F2} | {calls} | {boundCalls} | {stats["rate_limited_responses"]} |");
        rows.Add(new JsonObject
        {
            ["leads"] = count,
            ["with_notes"] = withNotes,
            ["seconds"] = Math.Round(seconds, 3),
            ["bound_seconds"] = Math.Round(bound, 3),
            ["amo_calls"] = calls,
            ["bound_calls"] = boundCalls,
            ["rate_limited"] = stats["rate_limited_responses"]!.DeepClone(),
            ["max_requests_in_any_second"] = stats["max_requests_in_any_second"]!.DeepClone(),
        });
    }

    results["drain"] = rows;
    markdown.AppendLine();
}

if (scenario is "burst" or "outage" or "pgintake")
{
    await BurstBench.RunAsync(scenario, markdown, results);
}

if (scenario is "link")
{
    await LinkBench.RunAsync(markdown, results);
}

if (scenario is "accounts")
{
    await AccountsBench.RunAsync(markdown, results, Environment_.GatewayExecutable);
}

if (scenario is "lost" or "all")
{
    // The burst drain again, with 10 % of amoCRM's writes carried out and their answers lost: every lost answer is looked
    // for before anything is sent again, so the leads reach amoCRM once each and the looks are the only extra calls.
    markdown.AppendLine("### Drain with 10 % of answers lost after amoCRM created the items (emulator at 7 requests/s)").AppendLine()
        .AppendLine("| leads | lost as | delivered in s | answers lost | items in amoCRM | duplicates | unsorted POSTs | looks (GET unsorted) | extra calls per lead |")
        .AppendLine("|---|---|---|---|---|---|---|---|---|");
    var rows = new JsonArray();
    foreach (var mode in new[] { "reset", "504", "timeout" })
    {
        const int count = 1000;
        // A timeout costs AMO_TIMEOUT_SECONDS per lost batch: 2 s keeps the run short.
        await using var env = await Environment_.StartAsync(authorize: false, emulatorRate: 7, extra: new Dictionary<string, string?> { ["AMO_TIMEOUT_SECONDS"] = "2" });
        using var http = env.GatewayClient(64);
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= count)
            {
                if (!await PostLeadAsync(http, i))
                {
                    throw new InvalidOperationException("a lead was not accepted");
                }
            }
        }));

        await env.SetFaultsAsync(new JsonObject { ["seed"] = 20240607, ["lost_answer_ratio"] = 0.1, ["lost_answer_mode"] = mode });
        var watch = Stopwatch.StartNew();
        await env.AuthorizeAsync();
        while (await env.GatewayPendingAsync() > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }

        var seconds = watch.Elapsed.TotalSeconds;
        var stats = await env.EmulatorStatsAsync();
        var unsorted = await env.EmulatorUnsortedSourceUidsAsync();
        var duplicates = unsorted.Count - unsorted.Distinct().Count();
        var posts = await env.EmulatorCallsAsync("/api/v4/leads/unsorted/forms");
        var looks = await env.EmulatorCallsAsync("/api/v4/leads/unsorted");
        var lost = stats["lost_answers"]!.GetValue<int>();
        var extra = (posts - (int)Math.Ceiling(count / 50.0) + looks) / (double)count;
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {count} | {mode} | {seconds:F2} | {lost} | {unsorted.Count} | {duplicates} | {posts} | {looks} | {extra:F3} |");
        rows.Add(new JsonObject
        {
            ["leads"] = count,
            ["mode"] = mode,
            ["seconds"] = Math.Round(seconds, 3),
            ["answers_lost"] = lost,
            ["items_in_amocrm"] = unsorted.Count,
            ["duplicates"] = duplicates,
            ["unsorted_posts"] = posts,
            ["looks"] = looks,
            ["extra_calls_per_lead"] = Math.Round(extra, 4),
            ["rate_limited"] = stats["rate_limited_responses"]!.DeepClone(),
        });
        if (duplicates > 0 || unsorted.Distinct().Count() != count)
        {
            throw new InvalidOperationException($"{mode}: {unsorted.Distinct().Count()} of {count} leads in amoCRM, {duplicates} duplicates");
        }
    }

    results["lost"] = rows;
    markdown.AppendLine();
}

if (scenario is "refresh" or "all")
{
    // 500 leads arrive together just as the token has expired: one refresh must serve them all.
    await using var env = await Environment_.StartAsync(authorize: false, emulatorRate: 7, expiredTokens: true);
    using var http = env.GatewayClient(500);
    var latencies = new double[500];
    await Task.WhenAll(Enumerable.Range(0, 500).Select(async i =>
    {
        var started = Stopwatch.GetTimestamp();
        if (!await PostLeadAsync(http, i))
        {
            throw new InvalidOperationException("a lead was not accepted");
        }

        latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }));
    var stats = await env.EmulatorStatsAsync();
    Array.Sort(latencies);
    var p99 = latencies[(int)Math.Ceiling(0.99 * latencies.Length) - 1];
    markdown.AppendLine("### Refresh race").AppendLine()
        .AppendLine(CultureInfo.InvariantCulture, $"500 concurrent leads at token expiry: **{stats["refresh_grants"]}** refresh call(s), p50 {latencies[249]:F0} ms, p99 {p99:F0} ms.").AppendLine();
    results["refresh"] = new JsonObject { ["requests"] = 500, ["refresh_calls"] = stats["refresh_grants"]!.DeepClone(), ["p50_ms"] = latencies[249], ["p99_ms"] = p99 };
}

if (scenario is "footprint" or "all")
{
    var ready = new List<double>();
    long idle = 0, loaded = 0;
    for (var run = 0; run < 3; run++)
    {
        await using var env = await Environment_.StartAsync(authorize: false, emulatorRate: 7);
        ready.Add(env.Gateway.ReadyAfter.TotalMilliseconds);
        if (run == 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
            idle = env.Gateway.ResidentBytes();
            using var http = env.GatewayClient(64);
            await Load.RunAsync(64, TimeSpan.FromSeconds(10), (c, i) => PostLeadAsync(c, i), http);
            loaded = env.Gateway.ResidentBytes();
        }
    }

    ready.Sort();
    markdown.AppendLine("### Footprint").AppendLine()
        .AppendLine("| start-up to a ready /health (median of 3) | RSS idle | RSS after 10 s of intake at 64 clients |").AppendLine("|---|---|---|")
        .AppendLine(CultureInfo.InvariantCulture, $"| {ready[1]:F0} ms | {idle / 1024 / 1024} MB | {loaded / 1024 / 1024} MB |").AppendLine();
    results["footprint"] = new JsonObject { ["ready_ms"] = ready[1], ["rss_idle_mb"] = idle / 1024 / 1024, ["rss_loaded_mb"] = loaded / 1024 / 1024 };
}

if (scenario is "builds")
{
    var builds = new List<(string Name, string? Executable)> { ("JIT (dotnet Gateway.dll)", null) };
    if (args.Length > 1)
    {
        builds.Add(("Native AOT", RequireExecutable(args[1])));
    }

    markdown.AppendLine("### JIT and Native AOT builds side by side").AppendLine()
        .AppendLine("| build | binary | ready /health (median of 5) | RSS idle | RSS after 10 s of cached info + /health at 64 connections | cached info req/s (64 connections) | intake leads/s (SQLite, paused, 64 clients) |")
        .AppendLine("|---|---|---|---|---|---|---|");
    var rows = new JsonArray();
    foreach (var (name, executable) in builds)
    {
        Environment_.GatewayExecutable = executable;
        var ready = new List<double>();
        for (var run = 0; run < 5; run++)
        {
            await using var started = await Environment_.StartAsync(authorize: false, emulatorRate: 0);
            ready.Add(started.Gateway.ReadyAfter.TotalMilliseconds);
        }

        ready.Sort();
        long idle, loaded;
        LoadResult info;
        await using (var env = await Environment_.StartAsync(authorize: false, emulatorRate: 0))
        {
            // Idle = started and left alone, before any request but the readiness probe.
            await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
            idle = env.Gateway.ResidentBytes();
            await env.AuthorizeAsync();
            using var http = env.GatewayClient(64);
            await Load.RunAsync(64, TimeSpan.FromSeconds(10), async (c, i) =>
            {
                using var response = await c.GetAsync(i % 2 == 0 ? "/api/v1/info/pipelines" : "/health");
                return response.IsSuccessStatusCode;
            }, http);
            loaded = env.Gateway.ResidentBytes();
            var pipelines = new Uri(env.Gateway.Url, "/api/v1/info/pipelines");
            var key = new Dictionary<string, string> { ["X-API-KEY"] = ApiKeyHolder.Key };
            await MeasureAsync(pipelines, 64, TimeSpan.FromSeconds(2), key);
            info = await MeasureAsync(pipelines, 64, TimeSpan.FromSeconds(5), key);
        }

        LoadResult intake;
        await using (var env = await Environment_.StartAsync(authorize: false, emulatorRate: 7))
        {
            using var http = env.GatewayClient(64);
            intake = await Load.RunAsync(64, TimeSpan.FromSeconds(10), (c, i) => PostLeadAsync(c, i), http);
        }

        var (bytes, what) = BinarySize(executable);
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {bytes / 1024.0 / 1024:F1} MB {what} | {ready[2]:F0} ms | {idle / 1024 / 1024} MB | {loaded / 1024 / 1024} MB | {info.PerSecond:F0} | {intake.PerSecond:F0} |");
        rows.Add(new JsonObject
        {
            ["build"] = name,
            ["binary_bytes"] = bytes,
            ["binary"] = what,
            ["ready_ms"] = new JsonArray([.. ready.Select(r => (JsonNode?)Math.Round(r, 1))]),
            ["ready_median_ms"] = Math.Round(ready[2], 1),
            ["rss_idle_mb"] = idle / 1024 / 1024,
            ["rss_loaded_mb"] = loaded / 1024 / 1024,
            ["cached_info_per_second"] = Math.Round(info.PerSecond),
            ["cached_info_p99_ms"] = info.P99Ms,
            ["cached_info_errors"] = info.Errors,
            ["intake_per_second"] = Math.Round(intake.PerSecond),
            ["intake_p99_ms"] = intake.P99Ms,
            ["intake_errors"] = intake.Errors,
        });
    }

    Environment_.GatewayExecutable = null;
    if (rows.Count == 2)
    {
        var (jit, native) = (rows[0]!.AsObject(), rows[1]!.AsObject());
        // Whole numbers are stored as longs, fractions as doubles: read either through the JSON text.
        double Of(JsonObject row, string field) => double.Parse(row[field]!.ToJsonString(), CultureInfo.InvariantCulture);
        string Verdict(bool met) => met ? "met" : "**missed**";
        var infoShare = Of(native, "cached_info_per_second") / Of(jit, "cached_info_per_second");
        var intakeShare = Of(native, "intake_per_second") / Of(jit, "intake_per_second");
        markdown.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Budgets (issue 13, native): ready ≤ 100 ms: {Of(native, "ready_median_ms"):F0} ms, {Verdict(Of(native, "ready_median_ms") <= 100)}; RSS idle ≤ 40 MB: {Of(native, "rss_idle_mb")} MB, {Verdict(Of(native, "rss_idle_mb") <= 40)}; RSS after load ≤ 74 MB: {Of(native, "rss_loaded_mb")} MB, {Verdict(Of(native, "rss_loaded_mb") <= 74)}; throughput ≥ 90 % of JIT: cached info {infoShare:P0}, {Verdict(infoShare >= 0.9)}; intake {intakeShare:P0}, {Verdict(intakeShare >= 0.9)}. Single runs on this VM vary by ±40 %: rerun before reading a miss as real.");
        results["budgets"] = new JsonObject
        {
            ["ready_ms_max"] = 100, ["rss_idle_mb_max"] = 40, ["rss_loaded_mb_max"] = 74, ["throughput_share_min"] = 0.9,
            ["cached_info_share"] = Math.Round(infoShare, 3), ["intake_share"] = Math.Round(intakeShare, 3),
        };
    }
    else
    {
        markdown.AppendLine().AppendLine("Native AOT row not run: pass the executable, `-- builds DIR/Gateway`.");
    }

    results["builds"] = rows;
    markdown.AppendLine();
}

Console.WriteLine(markdown.ToString());
var folder = Path.Combine(FindRepoRoot(), "bench", "results");
Directory.CreateDirectory(folder);
await File.WriteAllTextAsync(Path.Combine(folder, $"{scenario}.json"), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
await File.WriteAllTextAsync(Path.Combine(folder, $"{scenario}.md"), $"Machine: {results["machine"]}, .NET {results["runtime"]}, {results["date"]}\n\n{markdown}");
return 0;

static async Task<LoadResult> MeasureAsync(Uri url, int connections, TimeSpan duration, Dictionary<string, string> headers)
{
    if (Wrk.Available)
    {
        return await Wrk.RunAsync(url, connections, duration, headers);
    }

    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections });
    foreach (var (name, value) in headers)
    {
        client.DefaultRequestHeaders.TryAddWithoutValidation(name, value);
    }

    return await Load.RunAsync(connections, duration, async (c, _) =>
    {
        using var response = await c.GetAsync(url);
        return response.IsSuccessStatusCode;
    }, client);
}

static async Task<bool> PostLeadAsync(HttpClient client, int i, bool withNote = false)
{
    var comment = withNote ? ""","comment":"Bench comment" """ : "";
    var body = $$$"""{"source":"bench","form_name":"Bench","lead":{"name":"Bench lead {{{i}}}","price":1000},"contact":{"name":"Bench","phone":"+99890{{{Math.Abs(i):D7}}}"}{{{comment}}}}""";
    using var response = await client.PostAsync("/api/v1/leads/unsorted", new StringContent(body, Encoding.UTF8, "application/json"));
    return (int)response.StatusCode is 200 or 202;
}

static async Task<bool> PostTildaAsync(HttpClient client, int i)
{
    var n = Math.Abs(i).ToString("D7", CultureInfo.InvariantCulture);
    var body = $"Ism=Aziz+Karimov&Telefon=%2B998+%2890%29+{n[..3]}-{n[3..5]}-{n[5..]}&Izoh=Divan+kerak&Shahar=Toshkent&Qiziqish%5B%5D=Divan&Qiziqish%5B%5D=Kreslo"
        + $"&tranid=467251%3A{n}&formid=form789112233&COOKIES=_ym_uid%3D1697712345%3B+TILDAUTM%3Dutm_source%253Dinstagram%257C%257C%257Cutm_medium%253Dcpc%257C%257C%257C";
    using var content = new StringContent(body, Encoding.ASCII, "application/x-www-form-urlencoded");
    using var response = await client.PostAsync("/hooks/tilda/" + ApiKeyHolder.Key, content);
    return response.StatusCode == System.Net.HttpStatusCode.OK && await response.Content.ReadAsStringAsync() == "ok";
}

// A missing file must stop the bench, not quietly measure the JIT build under the native build's name.
static string RequireExecutable(string path) =>
    File.Exists(path) ? Path.GetFullPath(path) : throw new FileNotFoundException($"no gateway executable at {path}", path);

// What has to be on disk: the native file alone, or Gateway.dll with the libraries its deps.json lists
// (the shared .NET and ASP.NET Core runtimes, needed beside it, are not counted).
static (long Bytes, string What) BinarySize(string? executable)
{
    if (executable is not null)
    {
        return (new FileInfo(executable).Length, "one file");
    }

    var folder = AppContext.BaseDirectory;
    using var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "Gateway.deps.json")));
    var files = new HashSet<string>(StringComparer.Ordinal) { "Gateway.dll" };
    foreach (var target in deps.RootElement.GetProperty("targets").EnumerateObject())
    {
        foreach (var library in target.Value.EnumerateObject())
        {
            foreach (var kind in new[] { "runtime", "native" })
            {
                if (library.Value.TryGetProperty(kind, out var assets))
                {
                    files.UnionWith(assets.EnumerateObject().Select(a => a.Name));
                }
            }
        }
    }

    var bytes = files.Select(f => new FileInfo(Path.Combine(folder, f)))
        .Concat(files.Select(f => new FileInfo(Path.Combine(folder, Path.GetFileName(f)))))
        .Where(f => f.Exists).DistinctBy(f => f.FullName).Sum(f => f.Length);
    return (bytes, "Gateway.dll and libraries, plus the shared runtime");
}

static string FindRepoRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gateway.slnx")))
    {
        dir = dir.Parent;
    }

    return dir?.FullName ?? Directory.GetCurrentDirectory();
}

internal sealed class Environment_ : IAsyncDisposable
{
    private Environment_(ServerProcess emulator, ServerProcess gateway, string dir, Dictionary<string, string?> settings)
    {
        Emulator = emulator;
        Gateway = gateway;
        Dir = dir;
        Settings = settings;
    }

    // The gateway file to start instead of Gateway.dll: null for the JIT build.
    public static string? GatewayExecutable { get; set; }

    public ServerProcess Emulator { get; }

    public ServerProcess Gateway { get; }

    private string Dir { get; }

    private Dictionary<string, string?> Settings { get; }

    // Another instance on the same database (its own data directory): the caller disposes it.
    public Task<ServerProcess> StartAnotherGatewayAsync()
    {
        var settings = new Dictionary<string, string?>(Settings) { ["DATA_DIR"] = Path.Combine(Dir, "data-" + Guid.NewGuid().ToString("N")[..6]) };
        return ServerProcess.StartAsync("Gateway.dll", "/health", settings, Dir, GatewayExecutable);
    }

    public static async Task<Environment_> StartAsync(bool authorize, int emulatorRate, bool expiredTokens = false, string database = "sqlite", IDictionary<string, string?>? extra = null)
    {
        var dir = Directory.CreateTempSubdirectory("gateway-bench-").FullName;
        var emulator = await ServerProcess.StartAsync("Emulator.dll", "/_emulator/stats", new Dictionary<string, string?>
        {
            ["EMULATOR_RATE_LIMIT"] = emulatorRate.ToString(CultureInfo.InvariantCulture),
            ["EMULATOR_REDIRECT_URI"] = "http://localhost/oauth/callback",
            ["Logging__LogLevel__Default"] = "Warning",
            // The bench measures the gateway, not its inbound limits: one key and one address send thousands a second.
            ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0",
            ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "0",
        }, dir);
        string? tokensFile = null;
        if (expiredTokens)
        {
            // The PHP gateway's tokens.json with a pair the gateway believes expired a minute ago.
            using var http = new HttpClient { BaseAddress = emulator.Url };
            var pair = (await (await http.PostAsync("/_emulator/tokens", null)).Content.ReadFromJsonAsync<JsonObject>())!;
            tokensFile = Path.Combine(dir, "tokens.json");
            var expired = TimeProvider.System.GetUtcNow().AddMinutes(-1).ToUnixTimeSeconds();
            await File.WriteAllTextAsync(tokensFile, $$"""{"access_token":"{{pair["access_token"]}}","refresh_token":"{{pair["refresh_token"]}}","expires_at":{{expired}}}""");
        }

        var settings = new Dictionary<string, string?>
        {
            ["TOKEN_STORAGE_PATH"] = tokensFile,
            ["DATABASE_URL"] = database == "postgresql" ? BenchDatabase.FreshSchema() : null,
            ["API_KEY"] = ApiKeyHolder.Key,
            ["DATA_DIR"] = Path.Combine(dir, "data"),
            ["AMO_DOMAIN"] = "emulator.amocrm.ru",
            ["AMO_CLIENT_ID"] = "emulator-client-id",
            ["AMO_CLIENT_SECRET"] = "emulator-client-secret",
            ["AMO_REDIRECT_URI"] = "http://localhost/oauth/callback",
            ["AMO_BASE_URL"] = emulator.Url.ToString(),
            ["AMO_AUTH_URL"] = new Uri(emulator.Url, "/oauth").ToString(),
            ["Logging__LogLevel__Default"] = "Warning",
            // The bench measures the gateway, not its inbound limits: one key and one address send thousands a second.
            ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0",
            ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "0",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var gateway = await ServerProcess.StartAsync("Gateway.dll", "/health", settings, dir, GatewayExecutable);
        var env = new Environment_(emulator, gateway, dir, settings);
        if (authorize)
        {
            await env.AuthorizeAsync();
        }

        return env;
    }

    public async Task<string> EmulatorTokenAsync()
    {
        using var http = new HttpClient { BaseAddress = Emulator.Url };
        var pair = (await (await http.PostAsync("/_emulator/tokens", null)).Content.ReadFromJsonAsync<JsonObject>())!;
        return pair["access_token"]!.GetValue<string>();
    }

    public HttpClient GatewayClient(int connections)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = Gateway.Url, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-API-KEY", ApiKeyHolder.Key);
        return client;
    }

    // The real consent flow: authorize → the emulator approves → the callback exchanges the code.
    public async Task AuthorizeAsync()
    {
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        // Consent is an admin's (issue 12): API_KEY starts it.
        using var start = new HttpRequestMessage(HttpMethod.Get, new Uri(Gateway.Url, "/oauth/authorize")) { Headers = { { "X-API-KEY", ApiKeyHolder.Key } } };
        var authorize = await browser.SendAsync(start);
        var consent = await browser.GetAsync(authorize.Headers.Location);
        var callback = await browser.GetAsync(new Uri(Gateway.Url, "/oauth/callback" + consent.Headers.Location!.Query));
        callback.EnsureSuccessStatusCode();
    }

    public async Task<JsonObject> EmulatorStatsAsync()
    {
        using var http = new HttpClient { BaseAddress = Emulator.Url };
        return (await http.GetFromJsonAsync<JsonObject>("/_emulator/stats"))!;
    }

    public async Task<int> EmulatorCallsAsync(string path)
    {
        using var http = new HttpClient { BaseAddress = Emulator.Url };
        var requests = (await http.GetFromJsonAsync<JsonArray>("/_emulator/requests"))!;
        return requests.Count(r => (string?)r!["path"] == path);
    }

    public async Task SetFaultsAsync(JsonObject faults)
    {
        using var http = new HttpClient { BaseAddress = Emulator.Url };
        using var response = await http.PostAsync("/_emulator/faults", new StringContent(faults.ToJsonString(), Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    // Every unsorted item amoCRM holds, by the source_uid the gateway gave it (a duplicate shows twice).
    public async Task<IReadOnlyList<string>> EmulatorUnsortedSourceUidsAsync()
    {
        using var http = new HttpClient { BaseAddress = Emulator.Url };
        var items = (await http.GetFromJsonAsync<JsonArray>("/_emulator/unsorted"))!;
        return [.. items.Select(i => (string)i!["source_uid"]!)];
    }

    // Leads the gateway has not settled yet (queued or being delivered).
    public async Task<int> GatewayPendingAsync()
    {
        using var http = GatewayClient(2);
        var pending = 0;
        foreach (var status in new[] { "queued", "delivering" })
        {
            var page = (await http.GetFromJsonAsync<JsonObject>($"/api/v1/leads?status={status}&limit=250"))!;
            pending += page["data"]!["leads"]!.AsArray().Count;
        }

        return pending;
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Emulator.DisposeAsync();
        BenchDatabase.RemoveRun(Dir, Settings.GetValueOrDefault("DATABASE_URL"));
    }
}

internal static class ApiKeyHolder
{
    public const string Key = "bench-key-0123456789";
}

// The PostgreSQL rows use the test suite's server (GATEWAY_TEST_POSTGRES, or its default) with a fresh schema per run.
internal static class BenchDatabase
{
    public const string ServerVariable = "GATEWAY_TEST_POSTGRES";

    private static readonly Lazy<string?> Server = new(() =>
    {
        var server = Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } configured
            ? configured
            : "Host=127.0.0.1;Port=5432;Username=gateway;Password=gateway;Database=gateway_test";
        try
        {
            using var connection = new Npgsql.NpgsqlConnection(server);
            connection.Open();
            return server;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            return null;
        }
    });

    public static IReadOnlyList<string> Available() => Server.Value is null ? ["sqlite"] : ["sqlite", "postgresql"];

    public static string FreshSchema()
    {
        var schema = "bench_" + Guid.NewGuid().ToString("N")[..12];
        using var connection = new Npgsql.NpgsqlConnection(Server.Value);
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
        command.ExecuteNonQuery();
        return new Npgsql.NpgsqlConnectionStringBuilder(Server.Value) { SearchPath = schema }.ConnectionString;
    }

    // What a run leaves, once its processes have stopped: its folder, and the schema FreshSchema made for it (a day of
    // bench runs had left over a hundred schemas, 13,000 catalog rows, in the shared database). Null or SQLite: no schema.
    public static void RemoveRun(string dir, string? databaseUrl)
    {
        DropSchema(databaseUrl);
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void DropSchema(string? databaseUrl)
    {
        if (databaseUrl is null || new Npgsql.NpgsqlConnectionStringBuilder(databaseUrl).SearchPath is not { Length: > 0 } schema)
        {
            return;
        }

        using var connection = new Npgsql.NpgsqlConnection(Server.Value);
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
        command.ExecuteNonQuery();
    }
}
