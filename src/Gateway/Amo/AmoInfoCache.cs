using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Gateway.Amo;

// Pipelines, fields and account change rarely; a busy landing page must not turn into one amoCRM call per visit, and
// nobody with a key may turn lookups into a way to spend the account's calls: failures are kept too, briefly (a
// missing pipeline for a minute, anything else amoCRM answered for ten seconds), and each account's table is bounded.
internal sealed class AmoInfoCache(AmoClient amo, IOptions<AmoOptions> options, TimeProvider time)
{
    // Per account, besides its five fixed resources; pipelines by id are the only open-ended keys.
    public const int MaxEntriesPerAccount = 1000;

    public static readonly TimeSpan NotFoundTtl = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan FailureTtl = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, InfoCacheTable> tables = new(StringComparer.Ordinal);

    public Task<AmoResult> PipelinesAsync(string account, CancellationToken cancellationToken) =>
        GetAsync(account, "pipelines", pinned: true, AmoCallClass.Lookup, (p, c) => amo.GetAsync(account, "api/v4/leads/pipelines", p, c), cancellationToken);

    public Task<AmoResult> PipelineAsync(string account, long id, CancellationToken cancellationToken) =>
        GetAsync(account, $"pipeline:{id}", pinned: false, AmoCallClass.Lookup, (p, c) => amo.GetAsync(account, $"api/v4/leads/pipelines/{id}", p, c), cancellationToken);

    // Delivery asks for the lead fields too (tracking fields): then it waits as a delivery does, not behind lookups.
    public Task<AmoResult> LeadFieldsAsync(string account, CancellationToken cancellationToken) =>
        LeadFieldsAsync(account, AmoCallClass.Lookup, cancellationToken);

    public Task<AmoResult> LeadFieldsAsync(string account, AmoCallClass callClass, CancellationToken cancellationToken) =>
        GetAsync(account, "lead-fields", pinned: true, callClass, (p, c) => amo.GetAllPagesAsync(account, "api/v4/leads/custom_fields", "custom_fields", p, c), cancellationToken);

    public Task<AmoResult> ContactFieldsAsync(string account, CancellationToken cancellationToken) =>
        ContactFieldsAsync(account, AmoCallClass.Lookup, cancellationToken);

    public Task<AmoResult> ContactFieldsAsync(string account, AmoCallClass callClass, CancellationToken cancellationToken) =>
        GetAsync(account, "contact-fields", pinned: true, callClass, (p, c) => amo.GetAllPagesAsync(account, "api/v4/contacts/custom_fields", "custom_fields", p, c), cancellationToken);

    // The account's time zone (dates people write without an offset mean it), kept apart from /info/account's answer.
    public Task<AmoResult> DateTimeSettingsAsync(string account, AmoCallClass callClass, CancellationToken cancellationToken) =>
        GetAsync(account, "datetime-settings", pinned: true, callClass, (p, c) => amo.GetAsync(account, "api/v4/account?with=datetime_settings", p, c), cancellationToken);

    // The account's users with their rights (is_active, group_id): who a lead or a task may be given to.
    public Task<AmoResult> UsersAsync(string account, AmoCallClass callClass, CancellationToken cancellationToken) =>
        GetAsync(account, "users", pinned: true, callClass, (p, c) => amo.GetAllPagesAsync(account, "api/v4/users?with=group", "users", p, c), cancellationToken);

    public Task<AmoResult> AccountAsync(string account, CancellationToken cancellationToken) =>
        GetAsync(account, "account", pinned: true, AmoCallClass.Lookup, (p, c) => amo.GetAsync(account, "api/v4/account", p, c), cancellationToken);

    private Task<AmoResult> GetAsync(
        string account, string name, bool pinned, AmoCallClass callClass, Func<AmoPriority, CancellationToken, Task<AmoResult>> load, CancellationToken cancellationToken) =>
        tables.GetOrAdd(account, _ => new InfoCacheTable(MaxEntriesPerAccount, TimeToLive, time)).GetAsync(name, pinned, callClass, load, cancellationToken);

    private TimeSpan TimeToLive(AmoResult result)
    {
        var ttl = options.Value.CacheTtl;
        return result.Failure switch
        {
            AmoFailure.None => ttl,
            // Nothing reached amoCRM (no token yet, or every caller left first): keeping it would save no call. A 401
            // is the token's state, not the resource's: a new consent must be seen at once (and nothing delivers meanwhile).
            AmoFailure.NotAuthorized or AmoFailure.Unauthorized or AmoFailure.Withdrawn => TimeSpan.Zero,
            AmoFailure.NotFound => NotFoundTtl < ttl ? NotFoundTtl : ttl,
            _ => FailureTtl < ttl ? FailureTtl : ttl,
        };
    }
}
