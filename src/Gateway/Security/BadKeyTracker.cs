using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// Brute-force brake: a client that sends BAD_KEY_LIMIT wrong keys within BAD_KEY_WINDOW is refused for BAD_KEY_BLOCK.
internal sealed partial class BadKeyTracker(TimeProvider time, IOptions<SecurityOptions> options, ILogger<BadKeyTracker> logger)
{
    private const int MaxClients = 100_000;

    private readonly ConcurrentDictionary<string, Record> clients = new(StringComparer.Ordinal);

    public TimeSpan? BlockedFor(string client)
    {
        if (!clients.TryGetValue(client, out var record))
        {
            return null;
        }

        var now = time.GetUtcNow();
        lock (record)
        {
            if (record.BlockedUntil > now)
            {
                return record.BlockedUntil - now;
            }
        }

        return null;
    }

    public void RecordFailure(string client)
    {
        var settings = options.Value;
        if (settings.BadKeyLimit == 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        if (clients.Count >= MaxClients)
        {
            Prune(now);
        }

        var record = clients.GetOrAdd(client, _ => new Record());
        lock (record)
        {
            if (now - record.WindowStart >= settings.BadKeyWindow)
            {
                record.WindowStart = now;
                record.Failures = 0;
            }

            record.Failures++;
            if (record.Failures < settings.BadKeyLimit || record.BlockedUntil > now)
            {
                return;
            }

            record.BlockedUntil = now + settings.BadKeyBlock;
            record.Failures = 0;
            record.WindowStart = now;
        }

        // Once per block, and never the key: only where it came from.
        LogBlocked(client, settings.BadKeyLimit, (int)settings.BadKeyWindow.TotalSeconds, (int)settings.BadKeyBlock.TotalSeconds);
    }

    private void Prune(DateTimeOffset now)
    {
        var window = options.Value.BadKeyWindow;
        foreach (var (client, record) in clients)
        {
            lock (record)
            {
                if (record.BlockedUntil <= now && now - record.WindowStart >= window)
                {
                    clients.TryRemove(client, out _);
                }
            }
        }
    }

    private sealed class Record
    {
        public DateTimeOffset WindowStart { get; set; }

        public int Failures { get; set; }

        public DateTimeOffset BlockedUntil { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Client} sent {Limit} wrong API keys within {WindowSeconds} s: every request from it is refused for {BlockSeconds} s")]
    private partial void LogBlocked(string client, int limit, int windowSeconds, int blockSeconds);
}
