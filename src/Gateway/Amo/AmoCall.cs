namespace Gateway.Amo;

// Asked once the call holds its token and rate slot, right before it goes out; false withdraws the call (nothing is sent).
internal delegate Task<bool> SendGuard();

// Who an amoCRM call is for. The account's calls per second belong to delivery first; lookups (the info endpoints,
// consent's code exchange) keep to a share of them while leads are queued (AmoRateLimiter).
internal enum AmoCallClass
{
    Delivery,
    Lookup,
}

// A call's class, which may rise while it waits: a delivery that joins a lookup already in flight lends it its turn.
internal sealed class AmoPriority(AmoCallClass initial)
{
    private int value = (int)initial;
    private Action? raised;

    public AmoCallClass Class => (AmoCallClass)Volatile.Read(ref value);

    public bool IsDelivery => Class == AmoCallClass.Delivery;

    public void RaiseToDelivery()
    {
        if (Interlocked.Exchange(ref value, (int)AmoCallClass.Delivery) != (int)AmoCallClass.Delivery)
        {
            Volatile.Read(ref raised)?.Invoke();
        }
    }

    // Whoever holds the call in a queue is told when it rises (the limiter re-sorts its waiters).
    public void OnRaised(Action? callback) => Volatile.Write(ref raised, callback);
}

// What one amoCRM call carries through the handler chain. Handlers from IHttpClientFactory are shared and take no
// per-call arguments, so HttpRequestOptions is the only way down; one typed object, set by AmoClient alone, keeps that
// channel to a single key instead of loose entries any caller could stash.
internal sealed class AmoCall(string account, AmoPriority priority, SendGuard? guard, CancellationToken unwanted)
{
    private static readonly HttpRequestOptionsKey<AmoCall> Key = new("amo.call");

    public string Account { get; } = account;

    public AmoPriority Priority { get; } = priority;

    public SendGuard? Guard { get; } = guard;

    // Nobody waits for the answer any more: give up the wait for a slot, and do not send. Once sent, a call is not
    // cut off by it (its answer still serves whoever asks next), so it is not the call's CancellationToken.
    public CancellationToken Unwanted { get; } = unwanted;

    // Set by the pacing handler when the guard said no or the call became unwanted: the client answers AmoFailure.Withdrawn.
    public bool Withdrawn { get; set; }

    // Set by the pacing handler as the call goes out: from here on a missing answer may hide work amoCRM did.
    public bool Sent { get; set; }

    public void AttachTo(HttpRequestMessage request) => request.Options.Set(Key, this);

    public static AmoCall Of(HttpRequestMessage request) =>
        request.Options.TryGetValue(Key, out var call) ? call : throw new InvalidOperationException("amoCRM requests must be sent through AmoClient");
}
