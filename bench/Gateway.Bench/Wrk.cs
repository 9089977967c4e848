using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Gateway.Bench;

// wrk (Debian's package) when present: an established generator with keep-alive and exact percentiles.
internal static class Wrk
{
    private const string Script = """
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format("JSON {\"requests\":%d,\"duration_us\":%d,\"errors\":%d,\"p50\":%d,\"p99\":%d,\"p999\":%d}\n",
            summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
            latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
        end
        """;

    public static bool Available => File.Exists("/usr/bin/wrk");

    public static async Task<LoadResult> RunAsync(Uri url, int connections, TimeSpan duration, IDictionary<string, string> headers)
    {
        var script = Path.Combine(Path.GetTempPath(), "gateway-bench-wrk.lua");
        await File.WriteAllTextAsync(script, Script);
        var args = new List<string> { "-t", Math.Min(2, connections).ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{(int)duration.TotalSeconds}s", "-s", script };
        foreach (var (name, value) in headers)
        {
            args.Add("-H");
            args.Add($"{name}: {value}");
        }

        args.Add(url.ToString());
        var info = new ProcessStartInfo("wrk", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var line = output.Split('\n').First(l => l.StartsWith("JSON ", StringComparison.Ordinal))[5..];
        var json = JsonNode.Parse(line)!;
        var seconds = json["duration_us"]!.GetValue<long>() / 1e6;
        var requests = json["requests"]!.GetValue<long>();
        return new LoadResult(connections, requests, json["errors"]!.GetValue<long>(), seconds, requests / seconds,
            json["p50"]!.GetValue<long>() / 1000.0, json["p99"]!.GetValue<long>() / 1000.0, json["p999"]!.GetValue<long>() / 1000.0);
    }
}
