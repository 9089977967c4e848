using Gateway.Amo;
using Microsoft.Extensions.Options;

namespace Gateway.Outbox;

internal sealed record FailureVerdict(bool CountsAgainstItems);

// Per-account delivery health: pauses after amoCRM says stop (402/403/429/5xx), batch size halves on 504.
// An outage's pause never grows past OUTBOX_PROBE_SECONDS, and once it runs out the dispatcher probes (Probe) before it
// sends anything: the first answer lifts the pause and releases the account's backed-off leads and notes.
internal sealed partial class AccountDeliveryState(AccountDeliveryStore store, IOptions<OutboxOptions> options, TimeProvider time, ILogger<AccountDeliveryState> logger)
{
    private static readonly TimeSpan AuthorizationPause = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan BlockedPause = TimeSpan.FromMinutes(1);

    // 402/403 do not heal by themselves (someone pays, or unblocks): their pause doubles from a minute up to this.
    internal static readonly TimeSpan MaxBlockedPause = TimeSpan.FromHours(1);

    // The reason of a pause that a probe may lift: amoCRM down (5xx, timeouts, unreachable), not its rate limit or a block.
    internal const string UnavailableReason = "amoCRM unavailable: ";

    // Paused for an outage and the pause has run out: one cheap call says whether amoCRM is back, before a batch is risked.
    public async Task<bool> NeedsProbeAsync(string account, CancellationToken cancellationToken)
    {
        var state = await store.GetAsync(account, cancellationToken);
        return NeedsProbe(state, time.GetUtcNow());
    }

    public Task<IReadOnlyList<string>> ProbeDueAsync(CancellationToken cancellationToken) =>
        store.ProbeDueAsync(UnavailableReason, time.GetUtcNow(), cancellationToken);

    internal static bool NeedsProbe(AccountDelivery state, DateTimeOffset now) =>
        state.ConsecutiveFailures > 0 && state.PauseReason?.StartsWith(UnavailableReason, StringComparison.Ordinal) == true
        && (state.PausedUntil is null || state.PausedUntil <= now);

    // amoCRM answered the probe: the pause goes, and leads and notes that backed off during the outage are due at once.
    public async Task RecoveredAsync(string account, DateTimeOffset probeStartedAt, CancellationToken cancellationToken)
    {
        // A read says nothing about the batch size amoCRM copes with: a 504's halving stands until a batch succeeds.
        await store.RecordSuccessAsync(account, probeStartedAt, options.Value.BatchSize, growBatch: false, cancellationToken);
        var released = await store.ReleaseBackoffAsync(account, cancellationToken);
        LogRecovered(account, released);
    }

    public async Task<bool> IsPausedAsync(string account, CancellationToken cancellationToken)
    {
        var state = await store.GetAsync(account, cancellationToken);
        return state.PausedUntil is { } until && until > time.GetUtcNow();
    }

    public async Task<int> BatchSizeAsync(string account, CancellationToken cancellationToken)
    {
        var state = await store.GetAsync(account, cancellationToken);
        return (int)Math.Clamp(state.BatchSize ?? options.Value.BatchSize, 1, options.Value.BatchSize);
    }

    // After a 504 the batch grows back step by step, not at once. A success that ends a run of failures (a 429 storm,
    // say) also releases what backed off meanwhile: the account is healthy, its leads need not wait out their own backoff.
    public async Task RecordSuccessAsync(string account, DateTimeOffset batchStartedAt, CancellationToken cancellationToken)
    {
        if (await store.RecordSuccessAsync(account, batchStartedAt, options.Value.BatchSize, growBatch: true, cancellationToken))
        {
            await store.ReleaseBackoffAsync(account, cancellationToken);
        }
    }

    public async Task ResumeAsync(string account, CancellationToken cancellationToken)
    {
        var state = await store.GetAsync(account, cancellationToken);
        await store.SaveAsync(state with { PausedUntil = null, PauseReason = null, ConsecutiveFailures = 0 }, cancellationToken);
    }

    // An admin's pause holds until an admin resumes (or a new consent does): nothing is sent, leads are kept queued.
    public const string AdminPauseReason = "paused_by_admin";

    public async Task PauseAsync(string account, CancellationToken cancellationToken)
    {
        var state = await store.GetAsync(account, cancellationToken);
        await store.SaveAsync(state with { PausedUntil = time.GetUtcNow().AddYears(100), PauseReason = AdminPauseReason }, cancellationToken);
        LogPausedByAdmin(account);
    }

    public async Task<FailureVerdict> RecordFailureAsync(string account, AmoResult result, CancellationToken cancellationToken)
    {
        // A withdrawn call never reached amoCRM, so it says nothing about the account's health.
        ArgumentOutOfRangeException.ThrowIfEqual(result.Failure, AmoFailure.Withdrawn);
        var state = await store.GetAsync(account, cancellationToken);
        var (next, pause) = AfterFailure(state, result, time.GetUtcNow(), options.Value);
        await store.SaveAsync(next, cancellationToken);
        if (state.PauseReason != next.PauseReason)
        {
            LogPaused(account, next.PauseReason!, pause);
        }

        return VerdictFor(result);
    }

    // Whether the failure spends the items' turn (amoCRM unwell) or only the account's (consent, subscription, block).
    public static FailureVerdict VerdictFor(AmoResult result) =>
        new(result.Failure is not (AmoFailure.NotAuthorized or AmoFailure.Unauthorized or AmoFailure.PaymentRequired or AmoFailure.Forbidden));

    internal static (AccountDelivery Next, TimeSpan Pause) AfterFailure(AccountDelivery state, AmoResult result, DateTimeOffset now, OutboxOptions options)
    {
        var failures = state.ConsecutiveFailures + 1;
        var (pause, reason) = result.Failure switch
        {
            AmoFailure.NotAuthorized or AmoFailure.Unauthorized =>
                (AuthorizationPause, "amoCRM authorization required: open /oauth/authorize"),
            AmoFailure.PaymentRequired =>
                (Grow(BlockedPause, failures, MaxBlockedPause), "amoCRM answered 402: the account's subscription has ended"),
            AmoFailure.Forbidden =>
                (Grow(BlockedPause, failures, MaxBlockedPause), "amoCRM answered 403: the account or this IP address is blocked"),
            // A 429 is amoCRM's limit, not an outage: another call (a probe) would only add to it, so the next batch waits.
            AmoFailure.RateLimited =>
                (Grow(TimeSpan.FromSeconds(1), failures, Min(options.MaxBackoff, options.ProbeInterval)), $"amoCRM rate limit: {result.Description}"),
            _ => (Grow(TimeSpan.FromSeconds(1), failures, Min(options.MaxBackoff, options.ProbeInterval)), UnavailableReason + result.Description),
        };

        var batch = state.BatchSize;
        if (result.HttpStatus == StatusCodes.Status504GatewayTimeout)
        {
            // amoCRM's advice for 504: shrink the batch and try again.
            batch = Math.Max(1, (batch ?? options.BatchSize) / 2);
        }

        return (new AccountDelivery { Account = state.Account, PausedUntil = now + pause, PauseReason = reason, ConsecutiveFailures = failures, BatchSize = batch }, pause);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Grow(TimeSpan first, long failures, TimeSpan max) =>
        TimeSpan.FromSeconds(Math.Min(max.TotalSeconds, first.TotalSeconds * Math.Pow(2, Math.Min(failures - 1, 20))));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery to amoCRM for {Account} paused for {Pause}: {Reason}")]
    private partial void LogPaused(string account, string reason, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Information, Message = "amoCRM answers for {Account} again: delivery resumes, {Released} leads and notes released from their backoff")]
    private partial void LogRecovered(string account, int released);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery to {Account} paused by an admin; leads stay queued until it is resumed")]
    private partial void LogPausedByAdmin(string account);
}
