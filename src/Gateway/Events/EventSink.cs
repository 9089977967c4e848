using Gateway.Security;
using Microsoft.Extensions.Options;

namespace Gateway.Events;

// Decides, when an event happens, every destination it goes to, and stores the event with those deliveries at once:
// a subscription added later does not see older events; one removed later still gets what it was owed.
internal sealed partial class EventSink(
    EventStore store,
    SubscriptionRegistry subscriptions,
    ApiKeyRing keys,
    EventSignal signal,
    IOptions<EventsOptions> options,
    ILogger<EventSink> logger) : IGatewayEvents
{
    public async Task PublishAsync(GatewayEvent gatewayEvent, CancellationToken cancellationToken)
    {
        var deliveries = new List<NewDelivery>();
        if (EventTypes.IsLeadOutcome(gatewayEvent.Type) && gatewayEvent.Data["key"]?.GetValue<string>() is { } keyName
            && keys.FileKeys.FirstOrDefault(k => k.Name == keyName) is { Callback: { } callback })
        {
            deliveries.Add(new NewDelivery(DeliveryKinds.Callback, keyName, callback.Url.AbsoluteUri));
        }

        foreach (var subscription in subscriptions.Current.Where(s => s.Matches(gatewayEvent)))
        {
            deliveries.Add(subscription.Url is { } url
                ? new NewDelivery(DeliveryKinds.Http, subscription.Name, url.AbsoluteUri)
                : new NewDelivery(DeliveryKinds.Telegram, subscription.Name, subscription.TelegramChatId!));
        }

        // Nobody to tell: nothing to store (the lead, the submission, the webhook's own row keep what happened).
        if (deliveries.Count == 0)
        {
            return;
        }

        if (await store.AddAsync(gatewayEvent, deliveries, options.Value.MaxAge, cancellationToken))
        {
            LogPublished(gatewayEvent.Type, gatewayEvent.Id, gatewayEvent.Account, deliveries.Count);
            if (deliveries.Count > 0)
            {
                signal.Ring();
            }
        }
    }

    public bool AnyoneListens(string account, string type) =>
        (EventTypes.IsLeadOutcome(type) && keys.FileKeys.Any(k => k.Callback is not null))
        || subscriptions.Current.Any(s => s.Wants(account, type));

    [LoggerMessage(Level = LogLevel.Information, Message = "Event {Type} {EventId} of {Account} stored for {Deliveries} destinations")]
    private partial void LogPublished(string type, string eventId, string account, int deliveries);
}

// A doorbell for the event dispatcher (the database holds the work).
internal sealed class EventSignal
{
    private readonly System.Threading.Channels.Channel<bool> bell = System.Threading.Channels.Channel.CreateBounded<bool>(
        new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite });

    public void Ring() => bell.Writer.TryWrite(true);

    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, time, timer.Token);
        var rung = bell.Reader.WaitToReadAsync(timer.Token).AsTask();
        await Task.WhenAny(delay, rung);
        await timer.CancelAsync();
        bell.Reader.TryRead(out _);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
