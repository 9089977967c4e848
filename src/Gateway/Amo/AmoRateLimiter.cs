using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Gateway.Amo;

// One sliding window per account for every amoCRM call: at most N call starts in any window.
// Pacing is wall-clock by nature (amoCRM counts real seconds), so it reads Stopwatch, not the injected clock.
internal sealed class AmoRateLimiter(IOptions<AmoOptions> options) : IDisposable
{
    // A little slack over one second absorbs network jitter between our send and amoCRM's count.
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(1050);

    private readonly ConcurrentDictionary<string, SlidingWindow> windows = new(StringComparer.Ordinal);

    public Task WaitAsync(string account, CancellationToken cancellationToken) =>
        windows.GetOrAdd(account, _ => new SlidingWindow(options.Value.RateLimitPerSecond)).WaitAsync(cancellationToken);

    public void Dispose()
    {
        foreach (var window in windows.Values)
        {
            window.Dispose();
        }
    }

    private sealed class SlidingWindow(int limit) : IDisposable
    {
        public void Dispose() => gate.Dispose();

        private readonly Queue<long> starts = new();
        private readonly SemaphoreSlim gate = new(1, 1);

        public async Task WaitAsync(CancellationToken cancellationToken)
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                while (true)
                {
                    var now = Stopwatch.GetTimestamp();
                    while (starts.Count > 0 && Stopwatch.GetElapsedTime(starts.Peek(), now) >= Window)
                    {
                        starts.Dequeue();
                    }

                    if (starts.Count < limit)
                    {
                        starts.Enqueue(now);
                        return;
                    }

                    await Task.Delay(Window - Stopwatch.GetElapsedTime(starts.Peek(), now), cancellationToken);
                }
            }
            finally
            {
                gate.Release();
            }
        }
    }
}
