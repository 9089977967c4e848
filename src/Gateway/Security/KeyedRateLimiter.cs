namespace Gateway.Security;

// Token buckets by key on the app's TimeProvider (the framework's limiters run their own real-time timers).
// A bucket holds a minute's allowance and refills continuously. At most `capacity` buckets: a bucket idle for a
// minute is full, so dropping it loses nothing and it goes as soon as anyone calls; under a flood of distinct keys the
// least recently used goes, and that key starts again with a full bucket. A newcomer never shares anyone's bucket.
internal sealed class KeyedRateLimiter(TimeProvider time, int capacity)
{
    // From empty to full takes a minute at any limit: the allowance per minute is also the bucket's size.
    private static readonly TimeSpan RefillTime = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(1);

    private readonly Lock gate = new();
    private readonly BoundedTable<Bucket> buckets = new(capacity);

    public int Count
    {
        get
        {
            lock (gate)
            {
                return buckets.Count;
            }
        }
    }

    public long Examined
    {
        get
        {
            lock (gate)
            {
                return buckets.Examined;
            }
        }
    }

    // Null when allowed; otherwise how long until one request would be, and whether this refusal is the bucket's first
    // within a minute (the caller logs those only).
    public TimeSpan? TryAcquire(string key, int perMinute, out bool report)
    {
        var now = time.GetTimestamp();
        var frequency = time.TimestampFrequency;
        lock (gate)
        {
            while (buckets.TryPeekOldest(out var idlest) && idlest.IdleFor(now, frequency) >= RefillTime)
            {
                buckets.RemoveOldest();
            }

            if (!buckets.TryTouch(key, out var bucket))
            {
                bucket = new Bucket(perMinute, now);
                buckets.Add(key, bucket);
            }

            var wait = bucket.TryTake(perMinute, now, frequency);
            report = wait is not null && bucket.ShouldReport(now, frequency, ReportEvery);
            return wait;
        }
    }

    private sealed class Bucket(int perMinute, long now)
    {
        private double tokens = perMinute;
        private int capacity = perMinute;
        private long stamp = now;
        private long? reported;

        public TimeSpan IdleFor(long now, long frequency) => TimeSpan.FromSeconds((now - stamp) / (double)frequency);

        public TimeSpan? TryTake(int perMinute, long now, long frequency)
        {
            // A changed limit (keys file reloaded) takes effect at once.
            if (perMinute != capacity)
            {
                tokens = Math.Min(tokens, perMinute);
                capacity = perMinute;
            }

            var elapsed = (now - stamp) / (double)frequency;
            if (elapsed > 0)
            {
                tokens = Math.Min(capacity, tokens + elapsed * capacity / 60.0);
            }

            // Stamped even when nothing was added: idle time counts from the last request, and the table's order is by it.
            stamp = now;
            if (tokens >= 1)
            {
                tokens -= 1;
                return null;
            }

            return TimeSpan.FromSeconds((1 - tokens) * 60.0 / capacity);
        }

        public bool ShouldReport(long now, long frequency, TimeSpan every)
        {
            if (reported is { } last && TimeSpan.FromSeconds((now - last) / (double)frequency) < every)
            {
                return false;
            }

            reported = now;
            return true;
        }
    }
}
