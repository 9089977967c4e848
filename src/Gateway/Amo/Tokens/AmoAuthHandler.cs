using System.Net;
using System.Net.Http.Headers;
using Gateway.Accounts;

namespace Gateway.Amo.Tokens;

internal sealed class AmoNotAuthorizedException(string message, bool transient) : Exception(message)
{
    public bool Transient { get; } = transient;
}

// Sets the bearer token and the account's host, and on a 401 refreshes once and resends once; AmoPacingHandler,
// inside this one, paces each send (the resend included).
internal sealed class AmoAuthHandler(AmoTokenManager tokens, AccountRegistry registry) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var call = AmoCall.Of(request);
        var account = call.Account;
        // An account taken out of the accounts file is not delivered to; a call already on its way is not sent either.
        var configured = registry.Find(account)
            ?? throw new AmoNotAuthorizedException($"{account} is no longer a configured account", transient: false);
        var access = await tokens.GetAccessTokenAsync(account, cancellationToken);
        if (!access.IsAvailable)
        {
            throw new AmoNotAuthorizedException(access.Problem!, access.Transient);
        }

        var response = await SendWithTokenAsync(configured, request, access.Token!, cancellationToken);
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
        var resent = await SendWithTokenAsync(configured, await CloneAsync(request, cancellationToken), refreshed, cancellationToken);
        if (resent.StatusCode == HttpStatusCode.Unauthorized)
        {
            await tokens.ReportRejectedFreshTokenAsync(refreshed, cancellationToken);
        }

        return resent;
    }

    private Task<HttpResponseMessage> SendWithTokenAsync(AmoAccount configured, HttpRequestMessage request, AmoToken token, CancellationToken cancellationToken)
    {
        // A stored base_domain (an old tokens.json, an older version's row) is data: a foreign one gets no bearer.
        var apiBase = configured.ApiBaseFor(token.BaseDomain)
            ?? throw new AmoNotAuthorizedException(
                $"the stored token's base domain is refused: {AmoHosts.Refusal(token.BaseDomain, configured.BaseUrl)}; re-authorize at /oauth/authorize", transient: false);
        var relative = request.RequestUri!.PathAndQuery;
        request.RequestUri = new Uri(apiBase, relative);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        return base.SendAsync(request, cancellationToken);
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
