using Microsoft.Extensions.Options;

namespace Gateway.Amo.Pacing;

// Inside AmoAuthHandler, so a resend after a 401 takes a slot of its own. Holds the account's rate slot from before the
// send until one window after the answer, asks the call's guard, and only then starts the call's timeout.
internal sealed class AmoPacingHandler(AmoRateLimiter limiter, IOptions<AmoOptions> options) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var call = AmoCall.Of(request);
        await using var slot = await limiter.AcquireAsync(call.Account, cancellationToken);
        if (call.Guard is { } guard && !await guard())
        {
            // Nothing goes out; the client reads the flag, never this placeholder answer (not a 401, so no refresh follows).
            call.Withdrawn = true;
            return new HttpResponseMessage(System.Net.HttpStatusCode.NoContent) { RequestMessage = request };
        }

        // The call's own timeout starts once it has its slot: waiting our turn is not amoCRM being slow.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.RequestTimeout);
        return await base.SendAsync(request, timeout.Token);
    }
}
