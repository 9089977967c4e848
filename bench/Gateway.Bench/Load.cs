using System.Diagnostics;

namespace Gateway.Bench;

internal sealed record LoadResult(int Concurrency, long Requests, long Errors, double Seconds, double PerSecond, double P50Ms, double P99Ms, double P999Ms);

// A closed-loop load generator: N connections, each sending its next request when the previous answers.
internal static class Load
{
    public static async Task<LoadResult> RunAsync(int concurrency, TimeSpan duration, Func<HttpClient, int, Task<bool>> send, HttpClient client)
    {
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => send(client, -1 - w)));
        var latencies = new List<double>[concurrency];
        long errors = 0;
        var counter = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            var mine = latencies[w] = [];
            while (watch.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                var ok = await send(client, Interlocked.Increment(ref counter));
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        var seconds = watch.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new LoadResult(concurrency, all.Length, errors, seconds, all.Length / seconds, Percentile(all, 0.50), Percentile(all, 0.99), Percentile(all, 0.999));
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
