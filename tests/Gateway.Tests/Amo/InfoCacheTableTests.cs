using System.Diagnostics;
using Gateway.Amo;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo;

// The table behind /api/v1/info/*, driven directly: 100k distinct keys through HTTP would be 100k amoCRM calls.
public sealed class InfoCacheTableTests
{
    private static readonly AmoResult Found = new(AmoFailure.None, 200, null, "ok");
    private static readonly AmoResult Missing = new(AmoFailure.NotFound, 404, null, "amoCRM answered 404");

    [Fact]
    public async Task A_hundred_thousand_distinct_keys_keep_the_table_at_its_bound_and_a_hot_entry_loaded_once()
    {
        var table = new InfoCacheTable(1000, r => r.Ok ? TimeSpan.FromMinutes(5) : TimeSpan.FromMinutes(1), new TestTimeProvider());
        var hotLoads = 0;
        var largest = 0;
        var watch = Stopwatch.StartNew();

        for (var i = 0; i < 100_000; i++)
        {
            Assert.False((await table.GetAsync($"pipeline:{i}", false, AmoCallClass.Lookup, (_, _) => Task.FromResult(Missing), CancellationToken.None)).Ok);
            if (i % 100 == 0)
            {
                Assert.True((await table.GetAsync("pipeline:hot", false, AmoCallClass.Lookup, (_, _) => { hotLoads++; return Task.FromResult(Found); }, CancellationToken.None)).Ok);
            }

            largest = Math.Max(largest, table.Count);
        }

        Assert.InRange(largest, 900, 1000);
        Assert.Equal(1, hotLoads);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"100k distinct keys took {watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Pinned_resources_are_never_evicted_by_a_scan_of_ids()
    {
        var table = new InfoCacheTable(10, _ => TimeSpan.FromMinutes(5), new TestTimeProvider());
        var loads = 0;
        Task<AmoResult> Fields(AmoPriority priority, CancellationToken unwanted)
        {
            loads++;
            return Task.FromResult(Found);
        }

        await table.GetAsync("lead-fields", true, AmoCallClass.Lookup, Fields, CancellationToken.None);
        for (var i = 0; i < 1000; i++)
        {
            await table.GetAsync($"pipeline:{i}", false, AmoCallClass.Lookup, (_, _) => Task.FromResult(Missing), CancellationToken.None);
        }

        await table.GetAsync("lead-fields", true, AmoCallClass.Lookup, Fields, CancellationToken.None);
        Assert.Equal(1, loads);
        Assert.InRange(table.Count, 1, 10);
    }

    [Fact]
    public async Task When_every_entry_is_still_loading_a_new_key_is_answered_without_being_kept()
    {
        var table = new InfoCacheTable(10, _ => TimeSpan.FromMinutes(5), new TestTimeProvider());
        var never = new TaskCompletionSource<AmoResult>();
        var loading = Enumerable.Range(0, 10)
            .Select(i => table.GetAsync($"pipeline:{i}", false, AmoCallClass.Lookup, (_, _) => never.Task, CancellationToken.None))
            .ToList();

        var answer = await table.GetAsync("pipeline:new", false, AmoCallClass.Lookup, (_, _) => Task.FromResult(Found), CancellationToken.None);

        Assert.True(answer.Ok);
        Assert.Equal(10, table.Count);
        never.SetResult(Found);
        await Task.WhenAll(loading);
    }
}
