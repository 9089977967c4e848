using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Bench;

// dotnet run -c Release --project bench/Gateway.Bench -- intake|drain|all
var scenario = args.FirstOrDefault() ?? "all";
var results = new JsonObject
{
    ["machine"] = $"{Environment.ProcessorCount} cores, {Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1024.0 / 1024 / 1024)} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
    ["runtime"] = Environment.Version.ToString(),
    ["date"] = TimeProvider.System.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
};
var markdown = new StringBuilder();

if (scenario is "intake" or "all")
{
    markdown.AppendLine("### Intake: leads acknowledged durably (SQLite, synchronous=FULL)").AppendLine()
        .AppendLine("| delivery | clients | leads/s | p50 ms | p99 ms | p99.9 ms | errors |").AppendLine("|---|---|---|---|---|---|---|");
    var rows = new JsonArray();
    foreach (var delivering in new[] { false, true })
    {
        foreach (var clients in new[] { 16, 64 })
        {
            await using var env = await Environment_.StartAsync(authorize: delivering, emulatorRate: 7);
            using var http = env.GatewayClient(clients);
            var result = await Load.RunAsync(clients, TimeSpan.FromSeconds(10), (c, i) => PostLeadAsync(c, i), http);
            markdown.AppendLine(CultureInfo.InvariantCulture, $"| {(delivering ? "running" : "paused")} | {clients} | {result.PerSecond:F0} | {result.P50Ms:F1} | {result.P99Ms:F1} | {result.P999Ms:F1} | {result.Errors} |");
            var row = JsonSerializer.SerializeToNode(result)!.AsObject();
            row["delivery"] = delivering ? "running" : "paused";
            row["gateway_rss_mb"] = env.Gateway.ResidentBytes() / 1024 / 1024;
            rows.Add(row);
        }
    }

    results["intake"] = rows;
    markdown.AppendLine();
}

if (scenario is "drain" or "all")
{
    markdown.AppendLine("### Burst drain against amoCRM's 7 requests/s (emulator enforcing it with HTML 429s)").AppendLine()
        .AppendLine("| leads | delivered in s | bound s | amoCRM calls | bound calls | 429s |").AppendLine("|---|---|---|---|---|---|");
    var rows = new JsonArray();
    foreach (var count in new[] { 1000, 10000 })
    {
        await using var env = await Environment_.StartAsync(authorize: false, emulatorRate: 7);
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

        // The burst is stored while the account has no token; consent releases it all at once.
        var watch = Stopwatch.StartNew();
        await env.AuthorizeAsync();
        while ((await env.EmulatorStatsAsync())["leads"]!.GetValue<int>() < count)
        {
            await Task.Delay(50);
        }

        var seconds = watch.Elapsed.TotalSeconds;
        var stats = await env.EmulatorStatsAsync();
        var calls = await env.EmulatorCallsAsync("/api/v4/leads/unsorted/forms");
        var boundCalls = (int)Math.Ceiling(count / 50.0);
        var bound = boundCalls / 7.0;
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {count} | {seconds:F2} | {bound:F2} | {calls} | {boundCalls} | {stats["rate_limited_responses"]} |");
        rows.Add(new JsonObject
        {
            ["leads"] = count,
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

Console.WriteLine(markdown.ToString());
var folder = Path.Combine(FindRepoRoot(), "bench", "results");
Directory.CreateDirectory(folder);
await File.WriteAllTextAsync(Path.Combine(folder, $"{scenario}.json"), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
await File.WriteAllTextAsync(Path.Combine(folder, $"{scenario}.md"), $"Machine: {results["machine"]}, .NET {results["runtime"]}, {results["date"]}\n\n{markdown}");
return 0;

static async Task<bool> PostLeadAsync(HttpClient client, int i)
{
    var body = $$$"""{"source":"bench","form_name":"Bench","lead":{"name":"Bench lead {{{i}}}","price":1000},"contact":{"name":"Bench","phone":"+99890{{{Math.Abs(i):D7}}}"}}""";
    using var response = await client.PostAsync("/api/v1/leads/unsorted", new StringContent(body, Encoding.UTF8, "application/json"));
    return (int)response.StatusCode is 200 or 202;
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
    private Environment_(ServerProcess emulator, ServerProcess gateway, string dir)
    {
        Emulator = emulator;
        Gateway = gateway;
        Dir = dir;
    }

    public ServerProcess Emulator { get; }

    public ServerProcess Gateway { get; }

    private string Dir { get; }

    public static async Task<Environment_> StartAsync(bool authorize, int emulatorRate)
    {
        var dir = Directory.CreateTempSubdirectory("gateway-bench-").FullName;
        var emulator = await ServerProcess.StartAsync("Emulator.dll", "/_emulator/stats", new Dictionary<string, string?>
        {
            ["EMULATOR_RATE_LIMIT"] = emulatorRate.ToString(CultureInfo.InvariantCulture),
            ["EMULATOR_REDIRECT_URI"] = "http://localhost/oauth/callback",
            ["Logging__LogLevel__Default"] = "Warning",
        }, dir);
        var gateway = await ServerProcess.StartAsync("Gateway.dll", "/health", new Dictionary<string, string?>
        {
            ["API_KEY"] = ApiKeyHolder.Key,
            ["DATA_DIR"] = Path.Combine(dir, "data"),
            ["AMO_DOMAIN"] = "emulator.amocrm.ru",
            ["AMO_CLIENT_ID"] = "emulator-client-id",
            ["AMO_CLIENT_SECRET"] = "emulator-client-secret",
            ["AMO_REDIRECT_URI"] = "http://localhost/oauth/callback",
            ["AMO_BASE_URL"] = emulator.Url.ToString(),
            ["AMO_AUTH_URL"] = new Uri(emulator.Url, "/oauth").ToString(),
            ["Logging__LogLevel__Default"] = "Warning",
        }, dir);
        var env = new Environment_(emulator, gateway, dir);
        if (authorize)
        {
            await env.AuthorizeAsync();
        }

        return env;
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
        var authorize = await browser.GetAsync(new Uri(Gateway.Url, "/oauth/authorize"));
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

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Emulator.DisposeAsync();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class ApiKeyHolder
{
    public const string Key = "bench-key-0123456789";
}
