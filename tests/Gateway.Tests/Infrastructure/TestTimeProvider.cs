namespace Gateway.Tests.Infrastructure;

// A clock that moves only when a test says so; timers created on it fire as it passes their due time.
public sealed class TestTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly Lock gate = new();
    private readonly List<FakeTimer> timers = [];
    private readonly DateTimeOffset started = start;
    private DateTimeOffset now = start;

    public TestTimeProvider() : this(new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (gate)
        {
            return now;
        }
    }

    // Neither TimeSpan's 10 MHz nor Stopwatch's 1 GHz (Linux), and below both with a ratio that is no whole number:
    // code that mixes timestamps with TimeSpan ticks or with Stopwatch waits 3.3 times too long (or 300 times) and
    // the test that advances just past a deadline sees nothing happen. The origin is no other clock's either.
    private const long Frequency = 3_000_000;
    private const long Origin = 987_654_321_987;

    public override long TimestampFrequency => Frequency;

    // Whole microseconds of the fake clock map exactly, so the framework's GetElapsedTime gives back what Advance moved.
    public override long GetTimestamp() => Origin + (long)((Int128)(GetUtcNow() - started).Ticks * Frequency / TimeSpan.TicksPerSecond);

    public void Advance(TimeSpan by)
    {
        List<FakeTimer> due;
        lock (gate)
        {
            now += by;
            due = timers.Where(t => t.DueAt <= now).ToList();
        }

        foreach (var timer in due)
        {
            timer.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class FakeTimer(TestTimeProvider clock, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan period;

        public DateTimeOffset DueAt { get; private set; } = DateTimeOffset.MaxValue;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock.gate)
            {
                this.period = period;
                DueAt = dueTime == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : clock.now + dueTime;
                if (!clock.timers.Contains(this))
                {
                    clock.timers.Add(this);
                }
            }

            if (dueTime == TimeSpan.Zero)
            {
                Fire();
            }

            return true;
        }

        public void Fire()
        {
            lock (clock.gate)
            {
                if (DueAt == DateTimeOffset.MaxValue)
                {
                    return;
                }

                DueAt = period > TimeSpan.Zero && period != Timeout.InfiniteTimeSpan ? DueAt + period : DateTimeOffset.MaxValue;
            }

            callback(state);
        }

        public void Dispose()
        {
            lock (clock.gate)
            {
                clock.timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
