using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Gateway.Amo;

// Pipelines, fields and account change rarely; a busy landing page must not turn into one amoCRM call per visit.
internal sealed class AmoInfoCache(AmoClient amo, IOptions<AmoOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);

    public Task<AmoResult> PipelinesAsync(string account, CancellationToken cancellationToken) =>
        GetAsync(account, "pipelines", c => amo.GetAsync(account, "api/v4/leads/pipelines", c), cancellationToken);

    public Task<AmoResult> PipelineAsync(string account, long id, CancellationToken cancellationToken) =>
        GetAsync(account, $"pipeline:{id}", c => amo.GetAsync(account, $"api/v4/leads/pipelines/{id}", c), cancellationToken);

    public Task<AmoResult> LeadFieldsAsync(string account, CancellationToken cancellationToken) =>
        GetAsync(account, "lead-fields", c => amo.GetAllPagesAsync(account, "api/v4/leads/custom_fields", "custom_fields", c), cancellationToken);

    public Task<AmoResult> ContactFieldsAsync(string account, CancellationToken cancellationToken) =>
        GetAsync(account, "contact-fields", c => amo.GetAllPagesAsync(account, "api/v4/contacts/custom_fields", "custom_fields", c), cancellationToken);

    public Task<AmoResult> AccountAsync(string account, CancellationToken cancellationToken) =>
        GetAsync(account, "account", c => amo.GetAsync(account, "api/v4/account", c), cancellationToken);

    private async Task<AmoResult> GetAsync(string account, string name, Func<CancellationToken, Task<AmoResult>> load, CancellationToken cancellationToken)
    {
        var key = account + "|" + name;
        // Entries are created unstarted: racing threads may each build one, but only the stored entry's load runs.
        var entry = entries.GetOrAdd(key, _ => new Entry(load));
        if (entry.IsSpent(time.GetUtcNow()))
        {
            // Failures are not kept and stale entries are replaced; whoever swaps first loads, the rest share it.
            var replacement = new Entry(load);
            entry = entries.TryUpdate(key, replacement, entry) ? replacement : entries.GetOrAdd(key, replacement);
        }

        var result = await entry.Load.Value.WaitAsync(cancellationToken);
        if (entry.ExpiresAt == DateTimeOffset.MaxValue && result.Ok)
        {
            entry.ExpiresAt = time.GetUtcNow() + options.Value.CacheTtl;
        }

        return result;
    }

    // Loads run without the caller's token: one caller giving up must not fail the others sharing the load.
    private sealed class Entry(Func<CancellationToken, Task<AmoResult>> load)
    {
        public Lazy<Task<AmoResult>> Load { get; } = new(() => load(CancellationToken.None));

        public DateTimeOffset ExpiresAt { get; set; } = DateTimeOffset.MaxValue;

        public bool IsSpent(DateTimeOffset now) =>
            Load.IsValueCreated && Load.Value is { IsCompleted: true } task && (!task.IsCompletedSuccessfully || !task.Result.Ok || ExpiresAt <= now);
    }
}
