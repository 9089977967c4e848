using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Security;
using Microsoft.Extensions.Options;

namespace Gateway.Events;

internal sealed record DeliveryResult(bool Delivered, string Description, bool Permanent = false, DateTimeOffset? NotBefore = null, bool CountAttempt = true);

// Claims due deliveries and sends each: a signed POST (a key's callback or an HTTP subscriber) or a Telegram message.
// A failure goes back with backoff until its three days are up, then stays as a dead letter an admin can replay.
internal sealed partial class EventDispatcher(
    EventStore store,
    EventSignal signal,
    ApiKeyRing keys,
    SubscriptionRegistry subscriptions,
    TelegramClient telegram,
    TelegramPacer pacer,
    TelegramClusterPace clusterPace,
    Amo.AmoClient amo,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILogger<EventDispatcher> logger) : BackgroundService
{
    private const int BatchSize = 20;
    private readonly HttpClient http = new(CallbackAddresses.Handler(options.Value.AllowPrivateCallbacks))
    {
        Timeout = Timeout.InfiniteTimeSpan,
        MaxResponseContentBufferSize = 64 * 1024,
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var claimed = await store.ClaimAsync(BatchSize, options.Value.Lease, stoppingToken);
                if (claimed.Count > 0)
                {
                    // One destination's deliveries in order (a chat's pace), destinations side by side.
                    await Task.WhenAll(claimed.GroupBy(d => (d.Kind, d.Target)).Select(group => DeliverInOrderAsync(group.ToList(), stoppingToken)));
                    if (claimed.Count == BatchSize)
                    {
                        continue;
                    }
                }

                await signal.WaitAsync(options.Value.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                LogPassFailed(ex.GetType().Name);
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
        }
    }

    private async Task DeliverInOrderAsync(IReadOnlyList<ClaimedDelivery> deliveries, CancellationToken cancellationToken)
    {
        foreach (var delivery in deliveries)
        {
            var result = delivery.Body.Length == 0
                ? new DeliveryResult(false, "the stored event cannot be opened (the key ring was replaced)", Permanent: true)
                : await SendAsync(delivery, cancellationToken);
            await SettleAsync(delivery, result);
        }
    }

    private async Task SettleAsync(ClaimedDelivery delivery, DeliveryResult result)
    {
        var now = time.GetUtcNow();
        if (result.Delivered)
        {
            await store.DeliveredAsync(delivery, CancellationToken.None);
            LogDelivered(delivery.Type, delivery.EventId, delivery.Kind, delivery.Destination, delivery.Attempts + 1);
            return;
        }

        if (result.Permanent || (now >= delivery.GiveUpAt && result.CountAttempt))
        {
            await store.DeadAsync(delivery, result.Description, CancellationToken.None);
            LogDead(delivery.Type, delivery.EventId, delivery.Kind, delivery.Destination, delivery.Attempts + 1, result.Description);
            return;
        }

        var next = result.NotBefore ?? now + Backoff(delivery.Attempts + 1);
        if (next > delivery.GiveUpAt && result.CountAttempt)
        {
            // The last try comes at the deadline, not after it.
            next = delivery.GiveUpAt > now ? delivery.GiveUpAt : now;
        }

        await store.RetryAsync(delivery, next, result.Description, result.CountAttempt, CancellationToken.None);
        if (result.CountAttempt)
        {
            LogRetry(delivery.Type, delivery.EventId, delivery.Kind, delivery.Destination, delivery.Attempts + 1, result.Description, next);
        }
    }

    // 5 s, 10 s, 20 s … up to EVENTS_MAX_BACKOFF_SECONDS (1 h), with ±10 % so a recovered receiver is not hit by all at once.
    private TimeSpan Backoff(long attempt)
    {
        var seconds = options.Value.FirstBackoff.TotalSeconds * Math.Pow(2, Math.Min(attempt - 1, 20));
        var capped = Math.Min(seconds, options.Value.MaxBackoff.TotalSeconds);
        return TimeSpan.FromSeconds(capped * (0.9 + (Random.Shared.NextDouble() * 0.2)));
    }

    private Task<DeliveryResult> SendAsync(ClaimedDelivery delivery, CancellationToken cancellationToken) => delivery.Kind switch
    {
        DeliveryKinds.Callback => keys.FileKeys.FirstOrDefault(k => k.Name == delivery.Destination) is { Callback: { } callback }
            ? PostAsync(delivery, new Uri(delivery.Target), callback.Secret, cancellationToken)
            : Task.FromResult(new DeliveryResult(false, $"key {delivery.Destination} has no callback_url any more", Permanent: true)),
        DeliveryKinds.Http => subscriptions.Current.FirstOrDefault(s => s.Name == delivery.Destination) is { } subscription
            ? SubscriberAsync(delivery, subscription, cancellationToken)
            : Task.FromResult(new DeliveryResult(false, $"subscription {delivery.Destination} was removed", Permanent: true)),
        DeliveryKinds.Telegram => TelegramAsync(delivery, cancellationToken),
        _ => Task.FromResult(new DeliveryResult(false, $"unknown kind {delivery.Kind}", Permanent: true)),
    };

    private async Task<DeliveryResult> SubscriberAsync(ClaimedDelivery delivery, Subscription subscription, CancellationToken cancellationToken)
    {
        if (!subscription.Fetch || EntityPath(delivery.Type) is not { } path)
        {
            return await PostAsync(delivery, new Uri(delivery.Target), subscription.Secret, cancellationToken);
        }

        JsonObject envelope;
        try
        {
            envelope = JsonNode.Parse(delivery.Body) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            return new DeliveryResult(false, "the stored event is not JSON", Permanent: true);
        }

        if (envelope["data"] is not JsonObject data || data["id"] is not JsonValue idValue || !idValue.TryGetValue<long>(out var id) || envelope["account"]?.GetValue<string>() is not { } account)
        {
            return await PostAsync(delivery, new Uri(delivery.Target), subscription.Secret, cancellationToken);
        }

        // The whole v4 entity, read when the event goes out: a lookup, so it waits behind the account's deliveries
        // and within its rate limit. What amoCRM cannot give now is tried again later; one it does not have (deleted,
        // merged) goes out without it, saying so.
        var entity = await amo.GetAsync(account, $"api/v4/{path}/{id.ToString(System.Globalization.CultureInfo.InvariantCulture)}", new Amo.AmoPriority(Amo.AmoCallClass.Lookup), cancellationToken);
        if (entity.Ok && entity.Body is JsonObject found)
        {
            data["entity"] = found.DeepClone();
        }
        else if (entity.HttpStatus is 404 or 204)
        {
            data["entity"] = null;
        }
        else
        {
            return new DeliveryResult(false, $"amoCRM did not give {path}/{id}: {entity.Description}");
        }

        return await PostAsync(delivery, new Uri(delivery.Target), subscription.Secret, cancellationToken, envelope.ToJsonString());
    }

    // Which v4 collection an amoCRM event's id belongs to; null for events without one to fetch.
    private static string? EntityPath(string type) =>
        type.EndsWith(".deleted", StringComparison.Ordinal) ? null
        : type.StartsWith("amocrm.lead.", StringComparison.Ordinal) ? "leads"
        : type.StartsWith("amocrm.contact.", StringComparison.Ordinal) ? "contacts"
        : type.StartsWith("amocrm.company.", StringComparison.Ordinal) ? "companies"
        : null;

    private async Task<DeliveryResult> PostAsync(ClaimedDelivery delivery, Uri url, string? secret, CancellationToken cancellationToken, string? bodyText = null)
    {
        var body = Encoding.UTF8.GetBytes(bodyText ?? delivery.Body);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation("User-Agent", "amocrm-gateway-events/1");
        request.Headers.Add(EventSignature.EventHeader, delivery.Type);
        request.Headers.Add(EventSignature.EventIdHeader, delivery.EventId);
        request.Headers.Add(EventSignature.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (secret is not null)
        {
            request.Headers.Add(EventSignature.SignatureHeader, EventSignature.Sign(secret, timestamp, body));
        }

        // Wall-clock like amoCRM calls' timeout: a network wait is real seconds, whatever the business clock says.
        using var timeout = new CancellationTokenSource();
        timeout.CancelAfter(options.Value.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // Headers only: the receiver's body is not read, so a huge or endless answer costs nothing.
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var code = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return new DeliveryResult(true, code.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            DateTimeOffset? notBefore = code is 429 or 503 && response.Headers.RetryAfter?.Delta is { } delta && delta > TimeSpan.Zero
                ? time.GetUtcNow() + (delta < options.Value.MaxBackoff ? delta : options.Value.MaxBackoff)
                : null;
            var redirect = code is >= 300 and < 400 ? " (redirects are not followed)" : "";
            return new DeliveryResult(false, $"HTTP {code}{redirect}", NotBefore: notBefore);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new DeliveryResult(false, $"no answer within {options.Value.Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex) when (Refused(ex) is { } refused)
        {
            return new DeliveryResult(false, refused.Message, Permanent: true);
        }
        catch (HttpRequestException ex)
        {
            return new DeliveryResult(false, $"network: {ex.HttpRequestError}");
        }
    }

    private static RefusedAddressException? Refused(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is RefusedAddressException refused)
            {
                return refused;
            }
        }

        return null;
    }

    private async Task<DeliveryResult> TelegramAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        if ((pacer.TryTake(delivery.Target) ?? await clusterPace.TryTakeAsync(delivery.Target, cancellationToken)) is { } notBefore)
        {
            return new DeliveryResult(false, "paced", NotBefore: notBefore, CountAttempt: false);
        }

        JsonObject envelope;
        try
        {
            envelope = JsonNode.Parse(delivery.Body) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            return new DeliveryResult(false, "the stored event is not JSON", Permanent: true);
        }

        var language = subscriptions.Current.FirstOrDefault(s => s.Name == delivery.Destination)?.Language ?? "en";
        var text = TelegramTemplates.Render(delivery.Type, envelope, language, options.Value.PublicUrl);
        var answer = await telegram.SendMessageAsync(delivery.Target, text, cancellationToken);
        switch (answer.Outcome)
        {
            case TelegramOutcome.Sent:
                return new DeliveryResult(true, answer.Description);
            case TelegramOutcome.RetryAfter:
                pacer.Hold(delivery.Target, answer.RetryAfter!.Value);
                await clusterPace.HoldAsync(delivery.Target, time.GetUtcNow() + answer.RetryAfter.Value, cancellationToken);
                LogTelegramRetryAfter(delivery.Destination, answer.RetryAfter.Value.TotalSeconds);
                return new DeliveryResult(false, answer.Description, NotBefore: time.GetUtcNow() + answer.RetryAfter.Value, CountAttempt: false);
            case TelegramOutcome.Refused:
                return new DeliveryResult(false, answer.Description, Permanent: true);
            default:
                return new DeliveryResult(false, answer.Description);
        }
    }

    public override void Dispose()
    {
        http.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Event {Type} {EventId} delivered to {Kind} {Destination} (attempt {Attempt})")]
    private partial void LogDelivered(string type, string eventId, string kind, string destination, long attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event {Type} {EventId} to {Kind} {Destination} failed (attempt {Attempt}: {Description}); next try at {NextAttemptAt}")]
    private partial void LogRetry(string type, string eventId, string kind, string destination, long attempt, string description, DateTimeOffset nextAttemptAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Event {Type} {EventId} to {Kind} {Destination} is a dead letter after {Attempts} attempts: {Description}; an admin can replay it")]
    private partial void LogDead(string type, string eventId, string kind, string destination, long attempts, string description);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram asked to wait {Seconds} s before the next message of subscription {Destination}")]
    private partial void LogTelegramRetryAfter(string destination, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event delivery pass failed ({Error}); trying again")]
    private partial void LogPassFailed(string error);
}
