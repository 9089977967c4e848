using Microsoft.Extensions.Options;

namespace Gateway.Amo.Pacing;

// Inside AmoAuthHandler, so a resend after a 401 takes a slot of its own. Holds the account's rate slot from before the
// send until one window after the answer, asks the call's guard, and only then starts the call's timeout.
internal sealed class AmoPacingHandler(AmoRateLimiter limiter, IOptions<AmoOptions> options) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var call = AmoCall.Of(request);
        IAsyncDisposable slot;
        try
        {
            slot = await AcquireAsync(call, cancellationToken);
        }
        catch (OperationCanceledException) when (call.Unwanted.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Everyone who wanted the answer left while it waited its turn: the turn goes to someone who still waits.
            return Withdraw(call, request);
        }

        await using (slot)
        {
            if (call.Unwanted.IsCancellationRequested || (call.Guard is { } guard && !await guard()))
            {
                return Withdraw(call, request);
            }

            // The call's own timeout starts once it has its slot: waiting our turn is not amoCRM being slow.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.RequestTimeout);
            call.Sent = true;
            return await base.SendAsync(request, timeout.Token);
        }
    }

    private async Task<IAsyncDisposable> AcquireAsync(AmoCall call, CancellationToken cancellationToken)
    {
        if (!call.Unwanted.CanBeCanceled)
        {
            return await limiter.AcquireAsync(call.Account, call.Priority, cancellationToken);
        }

        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.Unwanted);
        return await limiter.AcquireAsync(call.Account, call.Priority, waiting.Token);
    }

    // Nothing goes out; the client reads the flag, never this placeholder answer (not a 401, so no refresh follows).
    private static HttpResponseMessage Withdraw(AmoCall call, HttpRequestMessage request)
    {
        call.Withdrawn = true;
        return new HttpResponseMessage(System.Net.HttpStatusCode.NoContent) { RequestMessage = request };
    }
}
