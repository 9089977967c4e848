using System.Diagnostics;

namespace Gateway.Tests.Infrastructure;

// Background delivery finishes on its own schedule: wait for the condition, bounded, never a fixed sleep.
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(15);
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < limit, $"Timed out after {limit} waiting for {what}");
            // A real pause between polls: the condition is reached by background work, not by any clock a test fakes.
            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
        }
    }

    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(15);
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < limit, $"Timed out after {limit} waiting for {what}");
            // A real pause between polls: the condition is reached by background work, not by any clock a test fakes.
            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
        }
    }

    public static async Task<T> SingleAsync<T>(Func<IReadOnlyList<T>> items, string what)
    {
        await TrueAsync(() => items().Count > 0, what);
        return Assert.Single(items());
    }
}
