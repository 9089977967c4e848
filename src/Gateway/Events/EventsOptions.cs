using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Events;

internal sealed class EventsOptions : FlatOptions
{
    public string? SubscriptionsFile { get; set; }
    public string? TelegramBotToken { get; set; }
    public Uri TelegramApiUrl { get; set; } = new("https://api.telegram.org/");
    public bool AllowPrivateCallbacks { get; set; }
    public Uri? PublicUrl { get; set; }
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(3);
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(1);
    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(1);
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan QueueStuckAfter { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);
}

internal sealed class EventsOptionsSetup(IConfiguration configuration) : IConfigureOptions<EventsOptions>
{
    public void Configure(EventsOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        options.SubscriptionsFile = env.Get("SUBSCRIPTIONS_FILE");
        options.TelegramBotToken = env.Get("TELEGRAM_BOT_TOKEN");
        if (env.Get("TELEGRAM_API_URL") is { } telegram)
        {
            if (Uri.TryCreate(telegram.EndsWith('/') ? telegram : telegram + "/", UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
            {
                options.TelegramApiUrl = url;
            }
            else
            {
                env.Unreadable("TELEGRAM_API_URL", "must be an http(s) URL");
            }
        }

        if (env.Get("PUBLIC_URL") is { } pub)
        {
            if (Uri.TryCreate(pub, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
            {
                options.PublicUrl = url;
            }
            else
            {
                env.Unreadable("PUBLIC_URL", "must be an http(s) URL");
            }
        }

        options.AllowPrivateCallbacks = env.GetBool("ALLOW_PRIVATE_CALLBACKS") ?? false;
        if (env.TryGetSeconds("EVENTS_MAX_AGE_SECONDS", out var age)) options.MaxAge = age;
        if (env.TryGetSeconds("EVENTS_MAX_BACKOFF_SECONDS", out var backoff)) options.MaxBackoff = backoff;
        if (env.TryGetSeconds("EVENTS_TIMEOUT_SECONDS", out var timeout)) options.Timeout = timeout;
        if (env.TryGetSeconds("EVENTS_LEASE_SECONDS", out var lease)) options.Lease = lease;
        if (env.TryGetSeconds("EVENTS_QUEUE_STUCK_SECONDS", out var stuck)) options.QueueStuckAfter = stuck;
        if (env.TryGetSeconds("EVENTS_RETENTION_SECONDS", out var retention)) options.Retention = retention;
    }
}

internal sealed class EventsOptionsValidator : FlatOptionsValidator<EventsOptions>
{
    protected override void Check(EventsOptions options, List<string> failures)
    {
        if (options.MaxAge < TimeSpan.FromMinutes(1)) failures.Add("EVENTS_MAX_AGE_SECONDS must be at least 60");
        if (options.MaxBackoff < TimeSpan.FromSeconds(1)) failures.Add("EVENTS_MAX_BACKOFF_SECONDS must be at least 1");
        if (options.Timeout < TimeSpan.FromSeconds(1) || options.Timeout > TimeSpan.FromSeconds(60)) failures.Add("EVENTS_TIMEOUT_SECONDS must be between 1 and 60");
        if (options.Lease <= options.Timeout) failures.Add("EVENTS_LEASE_SECONDS must be longer than EVENTS_TIMEOUT_SECONDS, or a slow delivery could go twice");
        if (options.QueueStuckAfter < TimeSpan.FromMinutes(1)) failures.Add("EVENTS_QUEUE_STUCK_SECONDS must be at least 60");
        if (options.Retention < TimeSpan.FromHours(24)) failures.Add("EVENTS_RETENTION_SECONDS must be at least 86400");
        // A bot token looks like 123456:ABC-...; anything else is a paste error, said without echoing it.
        if (options.TelegramBotToken is { } token && (token.IndexOf(':', StringComparison.Ordinal) is var colon && (colon < 1 || colon == token.Length - 1) || token.Any(char.IsWhiteSpace)))
        {
            failures.Add("TELEGRAM_BOT_TOKEN is not a bot token (digits, a colon, then the secret part, as BotFather shows it)");
        }
    }
}
