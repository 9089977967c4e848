using System.Collections.Concurrent;

namespace Gateway.Security;

// Token buckets by key on the app's TimeProvider (the framework's limiters run their own real-time timers).
// A bucket holds a minute's allowance and refills continuously; idle full buckets are dropped.
internal sealed class KeyedRateLimiter(TimeProvider time)
{
    private const int MaxBuckets = 100_000;
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, Bucket> buckets = new(StringComparer.Ordinal);
    private long lastPrune = time.GetTimestamp();

    // Null when allowed; otherwise how long until one request would be.
    public TimeSpan? TryAcquire(string key, int perMinute)
    {
        var now = time.GetTimestamp();
        PruneIfDue(now);
        var bucket = buckets.Count < MaxBuckets
            ? buckets.GetOrAdd(key, _ => new Bucket(perMinute, now))
            // Under a flood of distinct addresses, newcomers share one bucket rather than grow memory without bound.
            : buckets.TryGetValue(key, out var existing) ? existing : buckets.GetOrAdd("overflow", _ => new Bucket(perMinute, now));
        return bucket.TryTake(perMinute, now, time.TimestampFrequency);
    }

    private void PruneIfDue(long now)
    {
        var last = Interlocked.Read(ref lastPrune);
        if (time.GetElapsedTime(last, now) < PruneEvery || Interlocked.CompareExchange(ref lastPrune, now, last) != last)
        {
            return;
        }

        foreach (var (key, bucket) in buckets)
        {
            if (bucket.IsFull(now, time.TimestampFrequency))
            {
                buckets.TryRemove(key, out _);
            }
        }
    }

    private sealed class Bucket(int perMinute, long now)
    {
        private readonly Lock gate = new();
        private double tokens = perMinute;
        private int capacity = perMinute;
        private long stamp = now;

        public TimeSpan? TryTake(int perMinute, long now, long frequency)
        {
            lock (gate)
            {
                // A changed limit (keys file reloaded) takes effect at once.
                if (perMinute != capacity)
                {
                    tokens = Math.Min(tokens, perMinute);
                    capacity = perMinute;
                }

                Refill(now, frequency);
                if (tokens >= 1)
                {
                    tokens -= 1;
                    return null;
                }

                return TimeSpan.FromSeconds((1 - tokens) * 60.0 / capacity);
            }
        }

        public bool IsFull(long now, long frequency)
        {
            lock (gate)
            {
                Refill(now, frequency);
                return tokens >= capacity;
            }
        }

        private void Refill(long now, long frequency)
        {
            var elapsed = (now - stamp) / (double)frequency;
            if (elapsed > 0)
            {
                tokens = Math.Min(capacity, tokens + elapsed * capacity / 60.0);
                stamp = now;
            }
        }
    }
}
