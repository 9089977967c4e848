using System.Net;
using System.Net.Http.Headers;
using Gateway.Amo;
using Gateway.Amo.Pacing;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Tokens;

internal sealed class AmoNotAuthorizedException(string message, bool transient) : Exception(message)
{
    public bool Transient { get; } = transient;
}

// The caller's guard said no just before the send (its outbox claim passed to someone else while it waited): nothing went out.
internal sealed class AmoSendCancelledException() : Exception("the call was withdrawn before it was sent");

// Sets the bearer token and the account's host, paces the call, and on a 401 refreshes once and resends once.
internal sealed class AmoAuthHandler(AmoTokenManager tokens, AmoRateLimiter limiter, IOptions<AmoOptions> options) : DelegatingHandler
{
    public static readonly HttpRequestOptionsKey<string> AccountKey = new("amo.account");

    // Asked once the call holds its token and rate slot, right before it goes out; false withdraws the call.
    public static readonly HttpRequestOptionsKey<Func<Task<bool>>> BeforeSendKey = new("amo.before-send");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Options.TryGetValue(AccountKey, out var account))
        {
            throw new InvalidOperationException("amoCRM requests must name their account");
        }

        var access = await tokens.GetAccessTokenAsync(account, cancellationToken);
        if (!access.IsAvailable)
        {
            throw new AmoNotAuthorizedException(access.Problem!, access.Transient);
        }

        var response = await SendWithTokenAsync(request, account, access.Token!, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        var refreshed = await tokens.RefreshRejectedAsync(account, access.Token!.AccessToken, cancellationToken);
        if (refreshed is null)
        {
            return response;
        }

        response.Dispose();
        var resent = await SendWithTokenAsync(await CloneAsync(request, cancellationToken), account, refreshed, cancellationToken);
        if (resent.StatusCode == HttpStatusCode.Unauthorized)
        {
            await tokens.ReportRejectedFreshTokenAsync(refreshed, cancellationToken);
        }

        return resent;
    }

    private async Task<HttpResponseMessage> SendWithTokenAsync(HttpRequestMessage request, string account, AmoToken token, CancellationToken cancellationToken)
    {
        var relative = request.RequestUri!.PathAndQuery;
        request.RequestUri = new Uri(options.Value.ApiBaseFor(token.BaseDomain), relative);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        await using var slot = await limiter.AcquireAsync(account, cancellationToken);
        if (request.Options.TryGetValue(BeforeSendKey, out var beforeSend) && !await beforeSend())
        {
            throw new AmoSendCancelledException();
        }

        // The call's own timeout starts once it has its slot: waiting our turn is not amoCRM being slow.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.RequestTimeout);
        return await base.SendAsync(request, timeout.Token);
    }

    private static async Task<HttpRequestMessage> CloneAsync(HttpRequestMessage original, CancellationToken cancellationToken)
    {
        var clone = new HttpRequestMessage(original.Method, original.RequestUri) { Version = original.Version };
        foreach (var header in original.Headers)
        {
            clone.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        foreach (var option in original.Options)
        {
            clone.Options.TryAdd(option.Key, option.Value);
        }

        if (original.Content is not null)
        {
            var bytes = await original.Content.ReadAsByteArrayAsync(cancellationToken);
            clone.Content = new ByteArrayContent(bytes);
            foreach (var header in original.Content.Headers)
            {
                clone.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return clone;
    }
}
