using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gateway.Accounts;
using Gateway.AdminConsole;
using Gateway.Amo.Tokens;
using Gateway.Hosting;
using Gateway.Outbox;
using Gateway.Security;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Consent;

internal static class OAuthApi
{
    public static RouteGroupBuilder MapOAuth(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/oauth").AllowAnonymous().WithTags("OAuth");
        // Anonymous at the routing level: a browser is sent to the admin login rather than challenged (see RefuseNonAdmin).
        group.MapGet("/authorize", AuthorizeAsync)
            .WithSummary("Start consent in amoCRM: admins only (API_KEY, a key with scope admin, or an admin session)");
        group.MapGet("/callback", CallbackAsync);
        group.MapGet("/status", StatusAsync);
        return group;
    }

    // Short-lived, HttpOnly, SameSite=Lax: sent on the top-level redirect back from amoCRM (a Strict session cookie is not).
    public const string BrowserCookie = "gateway_consent";

    // Only an admin starts a consent: an open one lets a stranger reconnect the gateway to their own account and spends
    // the account's amoCRM budget. Nothing is written and amoCRM is not called before the caller is known to be one.
    private static async Task<IResult> AuthorizeAsync(HttpContext context, OAuthStateStore states, AccountRegistry registry, IOptions<AmoOptions> options, CancellationToken cancellationToken)
    {
        if (!Scopes.IsAdmin(context))
        {
            return RefuseNonAdmin(context);
        }

        // ?account=<domain> picks the account to connect; without it, the default one (or the admin key's own).
        if (CallerAccount.Of(context, registry) is not { } amo)
        {
            return CallerAccount.NotFound();
        }

        if (!amo.UsesOAuth)
        {
            return Envelope.Fail(StatusCodes.Status400BadRequest, $"OAuth is not used: a long-lived token is configured for {amo.Domain}");
        }

        // A browser's consent comes back to the same browser: the nonce is in its cookie, only the hash in the row.
        string? browserHash = null;
        if (IsBrowser(context))
        {
            var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            browserHash = OAuthStateStore.HashNonce(nonce);
            context.Response.Cookies.Append(BrowserCookie, nonce, CookieFor(context, OAuthStateStore.Lifetime));
        }

        var state = await states.CreateAsync(amo.Key, context.User.Identity?.Name, browserHash, cancellationToken);
        var query = $"client_id={Uri.EscapeDataString(amo.ClientId)}&state={state}&mode={options.Value.ConsentMode}";
        return Results.Redirect($"{amo.AuthUrl.AbsoluteUri.TrimEnd('/')}?{query}");
    }

    // A browser without a key signs in first; a script hears 401, or 403 naming the scope when its key is known.
    private static IResult RefuseNonAdmin(HttpContext context)
    {
        if (IsBrowser(context) && !context.Request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName))
        {
            return Results.Redirect($"{AdminSignInApi.LoginPath}?next={Uri.EscapeDataString("/oauth/authorize" + context.Request.QueryString)}");
        }

        return context.User.Identity?.IsAuthenticated == true
            ? Scopes.Refusal(Scopes.Admin)
            : ApiKeyRefusal.Result;
    }

    private static async Task<IResult> CallbackAsync(
        HttpContext context,
        OAuthStateStore states,
        AccountConnector connector,
        AccountDeliveryState delivery,
        OutboxSignal outbox,
        TokenStore store,
        AccountRegistry registry,
        ConsoleLanguage language,
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

            return Answer(context, language, StatusCodes.Status400BadRequest, "Authorization was denied in amoCRM", new ConsentDenied(error));
        }

        if (string.IsNullOrEmpty(code))
        {
            return Answer(context, language, StatusCodes.Status400BadRequest, "Authorization code not provided");
        }

        // The state is checked before the code is spent, so a forged callback leaves the real code usable and costs amoCRM nothing.
        if (string.IsNullOrEmpty(state) || await states.ConsumeAsync(state, cancellationToken) is not { } started)
        {
            return Answer(context, language, StatusCodes.Status400BadRequest, "Invalid state parameter");
        }

        if (started.BrowserHash is { } expectedHash)
        {
            var nonce = context.Request.Cookies[BrowserCookie];
            context.Response.Cookies.Delete(BrowserCookie, CookieFor(context, null));
            if (nonce is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(OAuthStateStore.HashNonce(nonce)), Encoding.ASCII.GetBytes(expectedHash)))
            {
                return Answer(context, language, StatusCodes.Status400BadRequest, "Invalid state parameter: this consent was started in another browser; start again at /oauth/authorize");
            }
        }

        // amoCRM names the account that consented; without it we would not know whose code this is.
        if (string.IsNullOrEmpty(referer))
        {
            return Answer(context, language, StatusCodes.Status400BadRequest, "Referer not provided: the callback must name the amoCRM account host");
        }

        // The state says which account this consent is for; one taken out of the accounts file meanwhile is not connected.
        var account = started.Account;
        if (registry.Find(account) is not { } amo)
        {
            return Answer(context, language, StatusCodes.Status400BadRequest, $"The account {account} this consent was started for is no longer configured");
        }

        var host = AmoOptionsSetup.NormalizeHost(referer)!;
        if (AmoHosts.Refusal(host, amo.BaseUrl) is not null)
        {
            return Answer(context, language, StatusCodes.Status400BadRequest, "Invalid referer: not an amoCRM or Kommo account host");
        }

        // Consent given in another account must not land under this one's key.
        var stored = await store.GetAsync(account, cancellationToken);
        if (!string.Equals(host, amo.Domain, StringComparison.OrdinalIgnoreCase) && !string.Equals(host, stored?.BaseDomain, StringComparison.OrdinalIgnoreCase))
        {
            return Answer(context, language, StatusCodes.Status400BadRequest, $"Invalid referer: {host} is not the amoCRM account this gateway is configured for ({amo.Domain})");
        }

        // Not cancelled with the caller: a spent code whose pair is dropped halfway helps nobody.
        var result = await connector.ConnectAsync(account, host, code, started.Admin, CancellationToken.None);
        switch (result.Outcome)
        {
            case ConnectOutcome.ExchangeRejected or ConnectOutcome.ExchangeFailed:
                return Answer(context, language, result.Outcome == ConnectOutcome.ExchangeRejected ? StatusCodes.Status400BadRequest : StatusCodes.Status502BadGateway,
                    result.Message, new ConsentExchangeFailed(result.Exchange!.Description, result.Exchange.HttpStatus));

            case ConnectOutcome.CheckFailed:
                return Answer(context, language, StatusCodes.Status502BadGateway, result.Message);

            case ConnectOutcome.WrongAccount:
                return Answer(context, language, StatusCodes.Status400BadRequest, result.Message, new ConsentWrongAccount(result.Got!.Subdomain, result.Got.Id, amo.Domain));
        }

        var saved = result.Saved!;

        // Leads queued while access was missing go out now, not at the next poll.
        await delivery.ResumeAsync(account, CancellationToken.None);
        outbox.Ring();
        return Answer(context, language, StatusCodes.Status200OK, "Authorization successful",
            new ConsentGranted(account, saved.BaseDomain, saved.ExpiresAt.ToUnixTimeSeconds(), result.Got!.Id, result.Got.Subdomain));
    }

    private static bool IsBrowser(HttpContext context) =>
        context.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    private static CookieOptions CookieFor(HttpContext context, TimeSpan? maxAge) => new()
    {
        HttpOnly = true,
        Secure = context.Request.IsHttps,
        SameSite = SameSiteMode.Lax,
        Path = "/oauth/callback",
        MaxAge = maxAge,
        IsEssential = true,
    };

    private static async Task<IResult> StatusAsync(HttpContext context, TokenStore store, AccountRegistry registry, IOptions<AmoOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var token = await store.GetAsync(account.Key, cancellationToken);
        var authorized = token is not null && token.State == TokenStates.Active && (!token.IsExpired(time.GetUtcNow()) || token.RefreshToken is not null);
        return Envelope.Ok(new ConsentStatus(token is not null, authorized ? "authorized" : "not_authorized", TokenStatus.StateOf(token, time.GetUtcNow(), options.Value.RefreshMargin)));
    }

    // A person in a browser gets a page in the console's language (the gateway's own words stay in English, as in the
    // envelope): on success which amoCRM account the token turned out to be for, and a way back to the console.
    private static IResult Answer(HttpContext context, ConsoleLanguage language, int status, string text, object? data = null)
    {
        if (IsBrowser(context))
        {
            var lang = ConsoleLanguage.Of(context.Request);
            string T(string key) => WebUtility.HtmlEncode(language.Text(lang, key));
            var title = T(status == StatusCodes.Status200OK ? "consent.connected_title" : "consent.failed_title");
            var body = data is ConsentGranted granted
                ? T("consent.connected")
                    .Replace("{account}", WebUtility.HtmlEncode(granted.Account), StringComparison.Ordinal)
                    .Replace("{subdomain}", WebUtility.HtmlEncode(granted.Subdomain), StringComparison.Ordinal)
                    .Replace("{id}", granted.AmoAccountId.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                : WebUtility.HtmlEncode(text);
            var html = $"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>"
                + $"<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em\"><main><h1>{title}</h1><p>{body}</p>"
                + $"<p><a href=\"/admin/#/accounts\">{T("consent.back")}</a></p></main></body></html>";
            return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
        }

        return status == StatusCodes.Status200OK ? Envelope.Ok(data, text) : Envelope.Fail(status, text, data);
    }
}

internal sealed record ConsentDenied(string Error);

internal sealed record ConsentExchangeFailed(string Error, int? HttpCode);

internal sealed record ConsentGranted(string Account, string? BaseDomain, long ExpiresAt, long AmoAccountId, string Subdomain);

// The account amoCRM's token was for, and the one the gateway is connected to.
internal sealed record ConsentWrongAccount(string ReceivedSubdomain, long ReceivedAccountId, string ExpectedAccount);

internal sealed record ConsentStatus(bool HasToken, string Status, string State);
