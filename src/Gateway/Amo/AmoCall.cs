namespace Gateway.Amo;

// Asked once the call holds its token and rate slot, right before it goes out; false withdraws the call (nothing is sent).
internal delegate Task<bool> SendGuard();

// What one amoCRM call carries through the handler chain. Handlers from IHttpClientFactory are shared and take no
// per-call arguments, so HttpRequestOptions is the only way down; one typed object, set by AmoClient alone, keeps that
// channel to a single key instead of loose entries any caller could stash.
internal sealed class AmoCall(string account, SendGuard? guard)
{
    private static readonly HttpRequestOptionsKey<AmoCall> Key = new("amo.call");

    public string Account { get; } = account;

    public SendGuard? Guard { get; } = guard;

    // Set by the pacing handler when the guard said no: the client answers AmoFailure.Withdrawn.
    public bool Withdrawn { get; set; }

    public void AttachTo(HttpRequestMessage request) => request.Options.Set(Key, this);

    public static AmoCall Of(HttpRequestMessage request) =>
        request.Options.TryGetValue(Key, out var call) ? call : throw new InvalidOperationException("amoCRM requests must be sent through AmoClient");
}
