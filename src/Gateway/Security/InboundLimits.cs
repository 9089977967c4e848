using System.Collections.Concurrent;
using System.Globalization;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// After authentication: a blocked client is refused, a known key is limited per key, everyone else per client address.
internal sealed partial class InboundLimits(
    KeyedRateLimiter limiter,
    BadKeyTracker badKeys,
    IOptions<SecurityOptions> options,
    TimeProvider time,
    ILogger<InboundLimits> logger)
{
    private static readonly Func<ILogger, string, IDisposable?> KeyScope = LoggerMessage.DefineScope<string>("ApiKey:{ApiKey}");
    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, long> lastLogged = new(StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var settings = options.Value;
        var client = ApiKeyCaller.ClientBucket(context);
        if (badKeys.BlockedFor(client) is { } blocked)
        {
            await RefuseAsync(context, blocked, "Too many failed API key attempts");
            return;
        }

        if (ApiKeyCaller.Get(context) is { } key)
        {
            // The key's name, never the key, on every line logged while this request runs.
            using var scope = KeyScope(logger, key.Name);
            var perMinute = key.RequestsPerMinute ?? settings.KeyRequestsPerMinute;
            if (perMinute > 0 && limiter.TryAcquire("key:" + key.Name, perMinute) is { } wait)
            {
                if (ShouldLog("key:" + key.Name))
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

        if (settings.IpRequestsPerMinute > 0 && limiter.TryAcquire("ip:" + client, settings.IpRequestsPerMinute) is { } ipWait)
        {
            if (ShouldLog("ip:" + client))
            {
                LogClientLimited(client, settings.IpRequestsPerMinute);
            }

            await RefuseAsync(context, ipWait, "Too many requests");
            return;
        }

        await next(context);
    }

    private bool ShouldLog(string bucket)
    {
        var now = time.GetTimestamp();
        var last = lastLogged.GetOrAdd(bucket, _ => now - (long)(LogEvery.TotalSeconds * time.TimestampFrequency) - 1);
        if (time.GetElapsedTime(last, now) < LogEvery)
        {
            return false;
        }

        if (lastLogged.Count > 10_000)
        {
            lastLogged.Clear();
        }

        return lastLogged.TryUpdate(bucket, now, last);
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
