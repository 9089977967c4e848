using System.Net;
using Gateway.Amo.Tokens;
using Gateway.Hosting;
using Gateway.Outbox;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Consent;

internal static class OAuthApi
{
    public static RouteGroupBuilder MapOAuth(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/oauth").AllowAnonymous().WithTags("OAuth");
        group.MapGet("/authorize", AuthorizeAsync);
        group.MapGet("/callback", CallbackAsync);
        group.MapGet("/status", StatusAsync);
        return group;
    }

    private static async Task<IResult> AuthorizeAsync(OAuthStateStore states, IOptions<AmoOptions> options, CancellationToken cancellationToken)
    {
        var amo = options.Value;
        if (!amo.UsesOAuth)
        {
            return Envelope.Fail(StatusCodes.Status400BadRequest, "OAuth is not used: AMO_LONG_LIVED_TOKEN is configured");
        }

        var state = await states.CreateAsync(amo.AccountKey, cancellationToken);
        var query = $"client_id={Uri.EscapeDataString(amo.ClientId)}&state={state}&mode={amo.ConsentMode}";
        return Results.Redirect($"{amo.AuthUrl.AbsoluteUri.TrimEnd('/')}?{query}");
    }

    private static async Task<IResult> CallbackAsync(
        HttpContext context,
        OAuthStateStore states,
        AmoOAuthClient oauth,
        AmoTokenManager tokens,
        TokenStore store,
        AccountDeliveryState delivery,
        OutboxSignal outbox,
        IOptions<AmoOptions> options,
        CancellationToken cancellationToken)
    {
        var query = context.Request.Query;
        string? code = query["code"], state = query["state"], referer = query["referer"], error = query["error"];
        if (!string.IsNullOrEmpty(error))
        {
            if (!string.IsNullOrEmpty(state))
            {
                await states.ConsumeAsync(state, cancellationToken);
            }

            return Answer(context, StatusCodes.Status400BadRequest, "Authorization was denied in amoCRM", new ConsentDenied(error));
        }

        if (string.IsNullOrEmpty(code))
        {
            return Answer(context, StatusCodes.Status400BadRequest, "Authorization code not provided");
        }

        // The state is checked before the code is spent, so a forged callback leaves the real code usable.
        if (string.IsNullOrEmpty(state) || await states.ConsumeAsync(state, cancellationToken) is not { } account)
        {
            return Answer(context, StatusCodes.Status400BadRequest, "Invalid state parameter");
        }

        var amo = options.Value;
        string? baseDomain = amo.Domain;
        if (!string.IsNullOrEmpty(referer))
        {
            var host = AmoOptionsSetup.NormalizeHost(referer)!;
            if (Uri.CheckHostName(host) != UriHostNameType.Dns || !AmoHosts.IsAccountHost(host))
            {
                return Answer(context, StatusCodes.Status400BadRequest, "Invalid referer: not an amoCRM or Kommo account host");
            }

            // Consent given in another account must not land under this one's key.
            var stored = await store.GetAsync(account, cancellationToken);
            if (!string.Equals(host, amo.Domain, StringComparison.OrdinalIgnoreCase) && !string.Equals(host, stored?.BaseDomain, StringComparison.OrdinalIgnoreCase))
            {
                return Answer(context, StatusCodes.Status400BadRequest, $"Invalid referer: {host} is not the amoCRM account this gateway is configured for ({amo.Domain})");
            }

            baseDomain = host;
        }

        var result = await oauth.ExchangeCodeAsync(account, baseDomain, code, CancellationToken.None);
        if (result.Outcome != TokenCallOutcome.Success)
        {
            return Answer(context, result.Outcome == TokenCallOutcome.Rejected ? StatusCodes.Status400BadRequest : StatusCodes.Status502BadGateway,
                "Failed to exchange authorization code", new ConsentExchangeFailed(result.Description, result.HttpStatus));
        }

        var saved = await tokens.StoreGrantAsync(account, result.Pair! with { BaseDomain = baseDomain }, false, "authorized", null, CancellationToken.None);

        // Leads queued while access was missing go out now, not at the next poll.
        await delivery.ResumeAsync(account, CancellationToken.None);
        outbox.Ring();
        return Answer(context, StatusCodes.Status200OK, "Authorization successful", new ConsentGranted(account, saved.BaseDomain, saved.ExpiresAt.ToUnixTimeSeconds()));
    }

    private static async Task<IResult> StatusAsync(TokenStore store, IOptions<AmoOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var token = await store.GetAsync(options.Value.AccountKey, cancellationToken);
        var authorized = token is not null && token.State == TokenStates.Active && (!token.IsExpired(time.GetUtcNow()) || token.RefreshToken is not null);
        return Envelope.Ok(new ConsentStatus(token is not null, authorized ? "authorized" : "not_authorized", TokenStatus.StateOf(token, time.GetUtcNow(), options.Value.RefreshMargin)));
    }

    // A person in a browser gets a page; scripts get the envelope.
    private static IResult Answer(HttpContext context, int status, string text, object? data = null)
    {
        var accept = context.Request.Headers.Accept.ToString();
        if (accept.Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            var title = status == StatusCodes.Status200OK ? "amoCRM is connected" : "amoCRM authorization failed";
            var body = status == StatusCodes.Status200OK
                ? "The gateway now holds a token for your amoCRM account. You can close this window."
                : WebUtility.HtmlEncode(text);
            var html = $"<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\"><h1>{title}</h1><p>{body}</p></body></html>";
            return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
        }

        return status == StatusCodes.Status200OK ? Envelope.Ok(data, text) : Envelope.Fail(status, text, data);
    }
}

internal sealed record ConsentDenied(string Error);

internal sealed record ConsentExchangeFailed(string Error, int? HttpCode);

internal sealed record ConsentGranted(string Account, string? BaseDomain, long ExpiresAt);

internal sealed record ConsentStatus(bool HasToken, string Status, string State);
