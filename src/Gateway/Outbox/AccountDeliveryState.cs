using Gateway.Amo;
using Microsoft.Extensions.Options;

namespace Gateway.Outbox;

internal sealed record FailureVerdict(bool CountsAgainstItems);

// Per-account delivery health: pauses after amoCRM says stop (402/403/429/5xx), batch size halves on 504.
internal sealed partial class AccountDeliveryState(AccountDeliveryStore store, IOptions<OutboxOptions> options, TimeProvider time, ILogger<AccountDeliveryState> logger)
{
    private static readonly TimeSpan AuthorizationPause = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan BlockedPause = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxBlockedPause = TimeSpan.FromHours(1);

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

    // After a 504 the batch grows back step by step, not at once.
    public Task RecordSuccessAsync(string account, DateTimeOffset batchStartedAt, CancellationToken cancellationToken) =>
        store.RecordSuccessAsync(account, batchStartedAt, options.Value.BatchSize, cancellationToken);

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
            _ => (Grow(TimeSpan.FromSeconds(1), failures, options.MaxBackoff), $"amoCRM unavailable: {result.Description}"),
        };

        var batch = state.BatchSize;
        if (result.HttpStatus == StatusCodes.Status504GatewayTimeout)
        {
            // amoCRM's advice for 504: shrink the batch and try again.
            batch = Math.Max(1, (batch ?? options.BatchSize) / 2);
        }

        return (new AccountDelivery { Account = state.Account, PausedUntil = now + pause, PauseReason = reason, ConsecutiveFailures = failures, BatchSize = batch }, pause);
    }

    private static TimeSpan Grow(TimeSpan first, long failures, TimeSpan max) =>
        TimeSpan.FromSeconds(Math.Min(max.TotalSeconds, first.TotalSeconds * Math.Pow(2, Math.Min(failures - 1, 20))));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery to amoCRM for {Account} paused for {Pause}: {Reason}")]
    private partial void LogPaused(string account, string reason, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery to {Account} paused by an admin; leads stay queued until it is resumed")]
    private partial void LogPausedByAdmin(string account);
}
