using System.Globalization;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// After authentication: a blocked client is refused, a known key is limited per key, everyone else per client address.
// Keys and addresses have separate tables: a flood of addresses never pushes out a key's bucket.
internal sealed partial class InboundLimits(
    BadKeyTracker badKeys,
    IOptions<SecurityOptions> options,
    TimeProvider time,
    ILogger<InboundLimits> logger)
{
    public const int MaxKeyBuckets = 10_000;
    public const int MaxClientBuckets = 100_000;

    private static readonly Func<ILogger, string, IDisposable?> KeyScope = LoggerMessage.DefineScope<string>("ApiKey:{ApiKey}");

    public KeyedRateLimiter Keys { get; } = new(time, MaxKeyBuckets);

    public KeyedRateLimiter Clients { get; } = new(time, MaxClientBuckets);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var settings = options.Value;
        var client = ApiKeyCaller.ClientBucket(context);
        if (badKeys.BlockedFor(client) is { } blocked)
        {
            // A person at the sign-in page gets the page back in their language, not the envelope.
            if (AdminSignInApi.IsLoginPage(context.Request.Path))
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(blocked.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await context.RequestServices.GetRequiredService<AdminSignIn>().Braked(context, blocked).ExecuteAsync(context);
                return;
            }

            await RefuseAsync(context, blocked, "Too many failed API key attempts");
            return;
        }

        if (ApiKeyCaller.Get(context) is { } key)
        {
            // The key's name, never the key, on every line logged while this request runs.
            using var scope = KeyScope(logger, key.Name);
            var perMinute = key.RequestsPerMinute ?? settings.KeyRequestsPerMinute;
            if (perMinute > 0 && Keys.TryAcquire(key.Name, perMinute, out var report) is { } wait)
            {
                if (report)
                {
                    LogKeyLimited(key.Name, perMinute);
                }

                await RefuseAsync(context, wait, "Too many requests");
                return;
            }

            await next(context);
            return;
        }

        if (ApiKeyCaller.WasRejected(context))
        {
            badKeys.RecordFailure(client);
        }

        if (settings.IpRequestsPerMinute > 0 && Clients.TryAcquire(client, settings.IpRequestsPerMinute, out var reportClient) is { } ipWait)
        {
            if (reportClient)
            {
                LogClientLimited(client, settings.IpRequestsPerMinute);
            }

            await RefuseAsync(context, ipWait, "Too many requests");
            return;
        }

        await next(context);
    }

    private static Task RefuseAsync(HttpContext context, TimeSpan wait, string error)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return Envelope.WriteAsync(context, StatusCodes.Status429TooManyRequests,
            new Envelope { Success = false, Error = error, Details = new RetryAfterDetails(seconds) });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "API key {ApiKey} is over its limit of {PerMinute} requests per minute: answering 429 (logged at most once a minute)")]
    private partial void LogKeyLimited(string apiKey, int perMinute);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Client} without a valid API key is over {PerMinute} requests per minute: answering 429 (logged at most once a minute)")]
    private partial void LogClientLimited(string client, int perMinute);
}

internal sealed record RetryAfterDetails(int RetryAfter);
