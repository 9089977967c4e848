using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Bench;

// Issue 17: lead mode with contacts "link" against amoCRM's 7 calls/s. A lead whose phone is in the gateway's contact
// cache costs its share of one leads/complex call (≤ 50 leads); a new one costs a contacts search first. So the cache
// hit ratio sets the throughput: 0 %, 50 % and 100 % of the measured leads are repeat customers, warmed beforehand.
internal static class LinkBench
{
    private const int Leads = 140;

    public static async Task RunAsync(StringBuilder markdown, JsonObject results)
    {
        markdown.AppendLine(CultureInfo.InvariantCulture, $"### Lead mode, contacts \"link\": {Leads} leads from 64 callers (emulator at 7 requests/s)").AppendLine()
            .AppendLine("| cache hits | delivered in s | leads/s | contact searches | leads/complex calls | 429s |")
            .AppendLine("|---|---|---|---|---|---|");
        var rows = new JsonArray();
        foreach (var hitPercent in new[] { 0, 50, 100 })
        {
            await using var env = await Environment_.StartAsync(authorize: true, emulatorRate: 7);
            using var http = env.GatewayClient(64);
            var hits = Leads * hitPercent / 100;

            // The repeat customers' first leads: each a search and a create, so their phones are in the cache.
            await PostAllAsync(http, hits, i => Body("Warm " + i.ToString(CultureInfo.InvariantCulture), i));
            await DrainAsync(env);
            var before = await env.EmulatorStatsAsync();
            var searchesBefore = before["contact_searches"]!.GetValue<int>();
            var complexBefore = await env.EmulatorCallsAsync("/api/v4/leads/complex");

            var watch = Stopwatch.StartNew();
            await PostAllAsync(http, Leads, i => Body("Bench " + i.ToString(CultureInfo.InvariantCulture), i < hits ? i : 100_000 + i));
            await DrainAsync(env);
            var seconds = watch.Elapsed.TotalSeconds;

            var stats = await env.EmulatorStatsAsync();
            var searches = stats["contact_searches"]!.GetValue<int>() - searchesBefore;
            var complex = await env.EmulatorCallsAsync("/api/v4/leads/complex") - complexBefore;
            markdown.AppendLine(CultureInfo.InvariantCulture, $"| {hitPercent} % | {seconds:F2} | {Leads / seconds:F1} | {searches} | {complex} | {stats["rate_limited_responses"]} |");
            rows.Add(new JsonObject
            {
                ["cache_hit_percent"] = hitPercent,
                ["leads"] = Leads,
                ["seconds"] = Math.Round(seconds, 3),
                ["leads_per_second"] = Math.Round(Leads / seconds, 2),
                ["contact_searches"] = searches,
                ["complex_calls"] = complex,
                ["rate_limited"] = stats["rate_limited_responses"]!.DeepClone(),
            });
        }

        results["link"] = rows;
        markdown.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Load average when done: {(File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown")}").AppendLine();
    }

    private static string Body(string name, int phone) =>
        $$$"""{"source":"bench","lead":{"name":"{{{name}}}"},"contact":{"name":"Bench","phone":"+99890{{{phone:D7}}}"},"delivery":{"mode":"lead","contacts":"link"}}""";

    private static async Task PostAllAsync(HttpClient http, int count, Func<int, string> body)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var response = await http.PostAsync("/api/v1/leads/unsorted", new StringContent(body(i), Encoding.UTF8, "application/json"));
                if ((int)response.StatusCode is not (200 or 202))
                {
                    throw new InvalidOperationException($"a lead was not accepted: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
        }));
    }

    private static async Task DrainAsync(Environment_ env)
    {
        while (await env.GatewayPendingAsync() > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }
    }
}
