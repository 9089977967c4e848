using Microsoft.Extensions.Options;

namespace Gateway.Security;

// Brute-force brake: a client that sends BAD_KEY_LIMIT wrong keys within BAD_KEY_WINDOW is refused for BAD_KEY_BLOCK.
// Two bounded tables, so a flood of addresses can neither grow memory nor lift a block:
// - suspects (wrong keys counted, not blocked), least recently failed first out; one whose window has passed goes
//   as soon as anyone fails, and at the cap the oldest loses its count (it was forgotten by 100,000 newer failures);
// - blocks, in the order they end; an ended one goes as soon as anyone calls. Suspects never push a block out: only a
//   newer block does, when MaxBlocks clients are blocked at once, and then the one that ends soonest is lifted early.
internal sealed partial class BadKeyTracker(TimeProvider time, IOptions<SecurityOptions> options, ILogger<BadKeyTracker> logger)
{
    public const int MaxSuspects = 100_000;
    public const int MaxBlocks = 100_000;

    private static readonly TimeSpan ReportFullEvery = TimeSpan.FromMinutes(1);

    private readonly Lock gate = new();
    private readonly BoundedTable<Suspect> suspects = new(MaxSuspects);
    private readonly BoundedTable<long> blocks = new(MaxBlocks);
    private long? reportedFull;

    public int Count
    {
        get
        {
            lock (gate)
            {
                return suspects.Count + blocks.Count;
            }
        }
    }

    public long Examined
    {
        get
        {
            lock (gate)
            {
                return suspects.Examined + blocks.Examined;
            }
        }
    }

    public TimeSpan? BlockedFor(string client)
    {
        var now = time.GetTimestamp();
        lock (gate)
        {
            DropEndedBlocks(now);
            return blocks.TryGetValue(client, out var until) ? time.GetElapsedTime(now, until) : null;
        }
    }

    public void RecordFailure(string client)
    {
        var settings = options.Value;
        if (settings.BadKeyLimit == 0)
        {
            return;
        }

        var now = time.GetTimestamp();
        var window = ToTicks(settings.BadKeyWindow);
        var liftedEarly = false;
        lock (gate)
        {
            DropEndedBlocks(now);
            while (suspects.TryPeekOldest(out var idlest) && now - idlest.LastFailure >= window)
            {
                suspects.RemoveOldest();
            }

            // A blocked client's guesses change nothing: the block runs its course from when it began.
            if (blocks.TryGetValue(client, out _))
            {
                return;
            }

            if (!suspects.TryTouch(client, out var suspect))
            {
                suspect = new Suspect { WindowStart = now };
                suspects.Add(client, suspect);
            }

            if (now - suspect.WindowStart >= window)
            {
                suspect.WindowStart = now;
                suspect.Failures = 0;
            }

            suspect.Failures++;
            suspect.LastFailure = now;
            if (suspect.Failures < settings.BadKeyLimit)
            {
                return;
            }

            suspects.Remove(client);
            var evicted = blocks.Evicted;
            blocks.Add(client, now + ToTicks(settings.BadKeyBlock));
            if (blocks.Evicted != evicted && (reportedFull is not { } last || now - last >= ToTicks(ReportFullEvery)))
            {
                reportedFull = now;
                liftedEarly = true;
            }
        }

        // Once per block, and never the key: only where it came from.
        LogBlocked(client, settings.BadKeyLimit, (int)settings.BadKeyWindow.TotalSeconds, (int)settings.BadKeyBlock.TotalSeconds);
        if (liftedEarly)
        {
            LogBlocksFull(MaxBlocks);
        }
    }

    // Every block lasts BAD_KEY_BLOCK, so the table's order (by when each began) is also the order they end.
    private void DropEndedBlocks(long now)
    {
        while (blocks.TryPeekOldest(out var until) && until <= now)
        {
            blocks.RemoveOldest();
        }
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private sealed class Suspect
    {
        public long WindowStart { get; set; }

        public long LastFailure { get; set; }

        public int Failures { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Client} sent {Limit} wrong API keys within {WindowSeconds} s: every request from it is refused for {BlockSeconds} s")]
    private partial void LogBlocked(string client, int limit, int windowSeconds, int blockSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{MaxBlocks} clients are blocked for wrong API keys at once: each new block lifts the one that ends soonest (logged at most once a minute)")]
    private partial void LogBlocksFull(int maxBlocks);
}
