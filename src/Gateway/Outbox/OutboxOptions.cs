using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Outbox;

internal sealed class OutboxOptions : FlatOptions
{
    public const string SectionName = "Outbox";

    // How long a POST waits for its lead's first delivery attempt before answering 202.
    public TimeSpan IntakeWait { get; set; } = TimeSpan.FromSeconds(5);
    public int BatchSize { get; set; } = 50;
    public int Workers { get; set; } = 2;
    // Accounts drained at the same time; more take turns.
    public int AccountConcurrency { get; set; } = 16;
    public int MaxAttempts { get; set; } = 100;
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(15);
    // The longest an account waits, during an outage, between looks at whether amoCRM is back.
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(15);
}

internal sealed class OutboxOptionsSetup(IConfiguration configuration) : IConfigureOptions<OutboxOptions>
{
    public void Configure(OutboxOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        if (env.TryGetSeconds("OUTBOX_INTAKE_WAIT_SECONDS", out var wait)) options.IntakeWait = wait;
        if (env.TryGetInt("OUTBOX_BATCH_SIZE", out var batch)) options.BatchSize = batch;
        if (env.TryGetInt("OUTBOX_WORKERS", out var workers)) options.Workers = workers;
        if (env.TryGetInt("OUTBOX_ACCOUNT_CONCURRENCY", out var concurrency)) options.AccountConcurrency = concurrency;
        if (env.TryGetInt("OUTBOX_MAX_ATTEMPTS", out var attempts)) options.MaxAttempts = attempts;
        if (env.TryGetSeconds("OUTBOX_MAX_AGE_SECONDS", out var age)) options.MaxAge = age;
        if (env.TryGetSeconds("OUTBOX_RETENTION_SECONDS", out var retention)) options.Retention = retention;
        if (env.TryGetSeconds("OUTBOX_LEASE_SECONDS", out var lease)) options.Lease = lease;
        if (env.TryGetSeconds("OUTBOX_POLL_SECONDS", out var poll)) options.PollInterval = poll;
        if (env.TryGetSeconds("OUTBOX_MAX_BACKOFF_SECONDS", out var backoff)) options.MaxBackoff = backoff;
        if (env.TryGetSeconds("OUTBOX_PROBE_SECONDS", out var probe)) options.ProbeInterval = probe;
    }
}

internal sealed class OutboxOptionsValidator(IOptions<Gateway.Amo.AmoOptions> amo) : FlatOptionsValidator<OutboxOptions>
{
    protected override void Check(OutboxOptions options, List<string> failures)
    {
        if (options.BatchSize is < 1 or > 250) failures.Add("OUTBOX_BATCH_SIZE must be between 1 and 250 (amoCRM's limit)");
        if (options.Workers is < 1 or > 16) failures.Add("OUTBOX_WORKERS must be between 1 and 16");
        if (options.AccountConcurrency is < 1 or > 256) failures.Add("OUTBOX_ACCOUNT_CONCURRENCY must be between 1 and 256");
        if (options.MaxAttempts < 1) failures.Add("OUTBOX_MAX_ATTEMPTS must be at least 1");
        if (options.IntakeWait > TimeSpan.FromSeconds(60)) failures.Add("OUTBOX_INTAKE_WAIT_SECONDS must be at most 60");
        if (options.MaxAge < TimeSpan.FromMinutes(1)) failures.Add("OUTBOX_MAX_AGE_SECONDS must be at least 60");
        if (options.Retention < TimeSpan.FromHours(24)) failures.Add("OUTBOX_RETENTION_SECONDS must be at least 86400 (idempotency keys are kept that long)");
        if (options.Lease <= amo.Value.RequestTimeout) failures.Add("OUTBOX_LEASE_SECONDS must be longer than AMO_TIMEOUT_SECONDS, or a slow call could be delivered twice");
        if (options.PollInterval < TimeSpan.FromMilliseconds(50)) failures.Add("OUTBOX_POLL_SECONDS must be at least 0.05");
        if (options.MaxBackoff < TimeSpan.FromSeconds(1)) failures.Add("OUTBOX_MAX_BACKOFF_SECONDS must be at least 1");
        if (options.ProbeInterval < TimeSpan.FromSeconds(1) || options.ProbeInterval > TimeSpan.FromSeconds(300)) failures.Add("OUTBOX_PROBE_SECONDS must be between 1 and 300");
    }
}
