using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Bench;

// Ten accounts on one emulator (one amoCRM, as in life), which limits each account to its own 7 calls/s with HTML
// 429s, behind one gateway: 1,000 leads each are stored while every account is paused, then all ten are resumed at
// once. (Ten emulator processes, one per account, spent more of the two cores than the gateway did: that measured
// the machine, not the scheduling.) Each account should drain within 15 % of
// its own bound (20 calls at 7/s), so the whole within 15 % of one account's bound. Then intake with ten keys.
internal static class AccountsBench
{
    // GATEWAY_BENCH_ACCOUNTS: fewer accounts, to tell the scheduling from the machine.
    private static readonly int Accounts = int.TryParse(Environment.GetEnvironmentVariable("GATEWAY_BENCH_ACCOUNTS"), CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 10 ? n : 10;
    private const int LeadsPerAccount = 1000;

    // Leads per account delivered before the measured burst (GATEWAY_BENCH_WARMUP=0: none). A gateway that has run for a
    // while, and amoCRM, are warm; freshly started, the JIT build and the emulator (always JIT) spent a seventh of the two
    // cores in their first seconds compiling the delivery path, which measured start-up, not the scheduling.
    private static readonly int WarmUpPerAccount = int.TryParse(Environment.GetEnvironmentVariable("GATEWAY_BENCH_WARMUP"), CultureInfo.InvariantCulture, out var w) && w >= 0 ? w : 300;

    public static async Task RunAsync(StringBuilder markdown, JsonObject results, string? executable)
    {
        foreach (var database in BenchDatabase.Available())
        {
            await RunAsync(markdown, results, executable, database);
        }
    }

    private static async Task RunAsync(StringBuilder markdown, JsonObject results, string? executable, string database)
    {
        var dir = Directory.CreateTempSubdirectory("gateway-bench-accounts-").FullName;
        ServerProcess? emulator = null;
        ServerProcess? gateway = null;
        var databaseUrl = database == "postgresql" ? BenchDatabase.FreshSchema() : null;
        try
        {
            emulator = await ServerProcess.StartAsync("Emulator.dll", "/_emulator/stats", new Dictionary<string, string?>
            {
                ["EMULATOR_RATE_LIMIT"] = "7",
                ["EMULATOR_SUBDOMAIN"] = "bench0",
                ["EMULATOR_REDIRECT_URI"] = "http://localhost/oauth/callback",
                ["Logging__LogLevel__Default"] = "Warning",
                // The emulator stands in for amoCRM's servers, whose CPU is not the gateway's: without this its JIT kept
                // recompiling hot methods with profile data through the drain, a seventh of the two cores (perf).
                ["DOTNET_TieredPGO"] = "0",
            }, dir);
            using var control = new HttpClient { BaseAddress = emulator.Url };
            for (var i = 1; i < Accounts; i++)
            {
                (await control.PostAsync("/_emulator/accounts", new StringContent($$"""{"subdomain":"bench{{i}}","id":{{32_000_000 + i}}}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
            }

            var entries = new List<string>();
            var keys = new List<string>();
            for (var i = 0; i < Accounts; i++)
            {
                var pair = (await (await control.PostAsync($"/_emulator/tokens?account=bench{i}", null)).Content.ReadFromJsonAsync<JsonObject>())!;
                var tokens = Path.Combine(dir, $"tokens-{i}.json");
                await File.WriteAllTextAsync(tokens, $$"""{"access_token":"{{pair["access_token"]}}","refresh_token":"{{pair["refresh_token"]}}","expires_at":{{TimeProvider.System.GetUtcNow().AddHours(20).ToUnixTimeSeconds()}},"base_domain":"bench{{i}}.amocrm.ru"}""");
                if (i > 0)
                {
                    entries.Add($$"""{"domain":"bench{{i}}.amocrm.ru","base_url":"{{emulator.Url}}","tokens_file":"{{tokens}}","rate_limit":7}""");
                }

                var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(KeyOf(i))));
                keys.Add(i == 0
                    ? $$"""{"name":"k0","sha256":"{{sha}}"}"""
                    : $$"""{"name":"k{{i}}","sha256":"{{sha}}","account":"bench{{i}}.amocrm.ru"}""");
            }

            var accountsFile = Path.Combine(dir, "accounts.json");
            await File.WriteAllTextAsync(accountsFile, $$"""{"accounts":[{{string.Join(",", entries)}}]}""");
            var keysFile = Path.Combine(dir, "api-keys.json");
            await File.WriteAllTextAsync(keysFile, $$"""{"keys":[{{string.Join(",", keys)}}]}""");
            gateway = await ServerProcess.StartAsync("Gateway.dll", "/health", new Dictionary<string, string?>
            {
                ["API_KEY"] = ApiKeyHolder.Key,
                ["DATABASE_URL"] = databaseUrl,
                ["API_KEYS_FILE"] = keysFile,
                ["ACCOUNTS_FILE"] = accountsFile,
                ["TOKEN_STORAGE_PATH"] = Path.Combine(dir, "tokens-0.json"),
                ["DATA_DIR"] = Path.Combine(dir, "data"),
                ["AMO_DOMAIN"] = "bench0.amocrm.ru",
                ["AMO_CLIENT_ID"] = "emulator-client-id",
                ["AMO_CLIENT_SECRET"] = "emulator-client-secret",
                ["AMO_REDIRECT_URI"] = "http://localhost/oauth/callback",
                ["AMO_BASE_URL"] = emulator.Url.ToString(),
                ["Logging__LogLevel__Default"] = "Warning",
                ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0",
                ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "0",
            }, dir, executable);

            using var admin = new HttpClient { BaseAddress = gateway.Url };
            admin.DefaultRequestHeaders.Add("X-API-KEY", ApiKeyHolder.Key);
            var clients = Enumerable.Range(0, Accounts).Select(i => Client(gateway.Url, KeyOf(i))).ToArray();
            if (WarmUpPerAccount > 0)
            {
                await PostManyAsync(clients, 0, Accounts * WarmUpPerAccount);
                var warming = Stopwatch.StartNew();
                while (warming.Elapsed < TimeSpan.FromMinutes(2) && (await LeadCountsAsync(control)).Any(a => a.Value!.GetValue<int>() < WarmUpPerAccount))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
                }

                // The JIT's second tier compiles in the background a moment after a method has been called often.
                await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
            }

            for (var i = 0; i < Accounts; i++)
            {
                (await admin.PostAsync($"/api/v1/admin/accounts/bench{i}.amocrm.ru/pause", null)).EnsureSuccessStatusCode();
            }

            // The burst, stored while every account is paused.
            await PostManyAsync(clients, Accounts * WarmUpPerAccount, Accounts * LeadsPerAccount);

            // Calls each account had made before the drain: the table shows the drain's own (20 when every batch is full).
            var callsBefore = new long[Accounts];
            for (var i = 0; i < Accounts; i++)
            {
                callsBefore[i] = (await StatsAsync(control, i))["requests"]!.GetValue<long>();
            }

            var watch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Accounts).Select(i => admin.PostAsync($"/api/v1/admin/accounts/bench{i}.amocrm.ru/resume", null)));
            var drained = new double[Accounts];
            var pending = Enumerable.Range(0, Accounts).ToHashSet();
            while (pending.Count > 0 && watch.Elapsed < TimeSpan.FromMinutes(3))
            {
                var leads = await LeadCountsAsync(control);
                foreach (var i in pending.ToList())
                {
                    if (leads[$"bench{i}"]!.GetValue<int>() >= WarmUpPerAccount + LeadsPerAccount)
                    {
                        drained[i] = watch.Elapsed.TotalSeconds;
                        pending.Remove(i);
                    }
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
            }

            var bound = Math.Ceiling(LeadsPerAccount / 50.0) / 7.0;
            var build = executable is null ? "JIT build" : "Native AOT build";
            markdown.AppendLine(CultureInfo.InvariantCulture, $"### Ten accounts drained together ({database}, {build}, {LeadsPerAccount:N0} leads each after {WarmUpPerAccount:N0} each delivered to warm up, one emulator enforcing 7/s per account with HTML 429s)").AppendLine()
                .AppendLine("| account | delivered in s | bound s | within 15 % | calls | 429s | max calls in any second |").AppendLine("|---|---|---|---|---|---|---|");
            var rows = new JsonArray();
            for (var i = 0; i < Accounts; i++)
            {
                var stats = await StatsAsync(control, i);
                var seconds = pending.Contains(i) ? double.NaN : drained[i];
                var calls = stats["requests"]!.GetValue<long>() - callsBefore[i];
                markdown.AppendLine(CultureInfo.InvariantCulture, $"| bench{i} | {seconds:F2} | {bound:F2} | {(seconds <= bound * 1.15 ? "yes" : "**no**")} | {calls} | {stats["rate_limited_responses"]} | {stats["max_requests_in_any_second"]} |");
                rows.Add(new JsonObject
                {
                    ["account"] = $"bench{i}.amocrm.ru",
                    ["seconds"] = double.IsNaN(seconds) ? null : Math.Round(seconds, 3),
                    ["bound_seconds"] = Math.Round(bound, 3),
                    ["calls"] = calls,
                    ["rate_limited"] = stats["rate_limited_responses"]!.DeepClone(),
                    ["max_requests_in_any_second"] = stats["max_requests_in_any_second"]!.DeepClone(),
                });
            }

            // Intake with the ten keys, every account paused again: what the gateway acknowledges, not what amoCRM takes.
            for (var i = 0; i < Accounts; i++)
            {
                (await admin.PostAsync($"/api/v1/admin/accounts/bench{i}.amocrm.ru/pause", null)).EnsureSuccessStatusCode();
            }

            using var spread = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = gateway.Url };
            var intake = await Load.RunAsync(64, TimeSpan.FromSeconds(10), (c, n) => PostAsync(c, n, KeyOf(Math.Abs(n) % Accounts)), spread);
            markdown.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Intake with ten accounts (64 clients over ten keys, {database}): {intake.PerSecond:F0} leads/s, p99 {intake.P99Ms:F1} ms, {intake.Errors} errors.").AppendLine();
            results["accounts_" + database] = new JsonObject
            {
                ["build"] = executable is null ? "jit" : "native",
                ["warm_up_leads_per_account"] = WarmUpPerAccount,
                ["drain"] = rows,
                ["drain_total_seconds"] = pending.Count == 0 ? Math.Round(drained.Max(), 3) : null,
                ["intake_per_second"] = Math.Round(intake.PerSecond),
                ["intake_p99_ms"] = intake.P99Ms,
                ["intake_errors"] = intake.Errors,
            };
        }
        finally
        {
            if (gateway is not null)
            {
                await gateway.DisposeAsync();
            }

            if (emulator is not null)
            {
                await emulator.DisposeAsync();
            }

            BenchDatabase.RemoveRun(dir, databaseUrl);
        }
    }

    // Leads first + 1 … first + count from 64 callers, spread over the accounts' keys.
    private static async Task PostManyAsync(HttpClient[] clients, int first, int count)
    {
        var next = first;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) <= first + count)
            {
                if (!await PostAsync(clients[n % clients.Length], n))
                {
                    throw new InvalidOperationException("a lead was not accepted");
                }
            }
        }));
    }

    private static string KeyOf(int account) => $"bench-account-key-{account:D2}-0123456789";

    private static HttpClient Client(Uri url, string key)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16 }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-API-KEY", key);
        return client;
    }

    private static async Task<bool> PostAsync(HttpClient client, int n, string? key = null)
    {
        var body = $$$"""{"source":"bench","form_name":"Bench","lead":{"name":"Bench lead {{{n}}}","price":1000},"contact":{"name":"Bench","phone":"+99890{{{Math.Abs(n) % 10_000_000:D7}}}"}}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/leads/unsorted") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("X-API-KEY", key);
        }

        using var response = await client.SendAsync(request);
        return (int)response.StatusCode is 200 or 202;
    }

    // Every account's lead count (subdomain: count) in one look.
    private static async Task<JsonObject> LeadCountsAsync(HttpClient control) =>
        (await control.GetFromJsonAsync<JsonObject>("/_emulator/stats/leads"))!;

    // Over the one control connection: a new client per look had cost the emulator a connection 200 times a second.
    private static async Task<JsonObject> StatsAsync(HttpClient control, int account) =>
        (await control.GetFromJsonAsync<JsonObject>($"/_emulator/stats?account=bench{account}"))!;
}
