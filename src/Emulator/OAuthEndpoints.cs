using System.Text.Json.Nodes;

namespace Emulator;

internal static class OAuthEndpoints
{
    public static IEndpointRouteBuilder MapOAuth(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/oauth", Consent);
        routes.MapPost("/oauth2/access_token", AccessTokenAsync);
        routes.MapGet("/oauth2/account/current/subdomain", CurrentSubdomain);
        return routes;
    }

    // The consent page. A browser (Accept: text/html) is shown a page, as amoCRM shows one: the person picks one of
    // their accounts and clicks Allow or Deny. A script is approved at once: there is no one to click. `account` (id or
    // subdomain) plays the person's choice for a script and preselects it for a browser; without it, the main account.
    private static IResult Consent(HttpRequest request, EmulatorState state, EmulatorOptions options)
    {
        var clientId = request.Query["client_id"].ToString();
        var stateParameter = request.Query["state"].ToString();
        if (!string.Equals(clientId, options.ClientId, StringComparison.Ordinal))
        {
            return Results.Text(
                "<!DOCTYPE html><html><head><title>Ошибка</title></head><body><h1>Интеграция не найдена</h1>"
                + "<p>Integration not found: check the client_id parameter.</p></body></html>",
                AmoResults.Html,
                statusCode: 400);
        }

        var chosen = request.Query["account"].ToString();
        var account = chosen.Length == 0 ? state.MainAccount : state.FindAccount(chosen);
        if (account is null)
        {
            return Results.Text(
                "<!DOCTYPE html><html><head><title>Ошибка</title></head><body><h1>Аккаунт не найден</h1>"
                + "<p>Account not found: check the account parameter.</p></body></html>",
                AmoResults.Html,
                statusCode: 400);
        }

        var decision = request.Query["decision"].ToString();
        if (decision.Length == 0 && !state.DenyConsent && IsBrowser(request))
        {
            return ConsentPage(clientId, stateParameter, request.Query["mode"].ToString(), account, state.Accounts);
        }

        var query = new List<KeyValuePair<string, string>>();
        if (decision == "deny" || (decision.Length == 0 && state.DenyConsent))
        {
            query.Add(new("error", "access_denied"));
            query.Add(new("state", stateParameter));
        }
        else
        {
            query.Add(new("code", state.CreateAuthorizationCode(account)));
            query.Add(new("state", stateParameter));
            query.Add(new("referer", account.Host));
            query.Add(new("platform", "1"));
        }

        query.Add(new("client_id", clientId));
        var separator = options.RedirectUri.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        var location = options.RedirectUri + separator
            + string.Join('&', query.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        return Results.Redirect(location);
    }

    private static bool IsBrowser(HttpRequest request) =>
        request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    // A plain GET form back to /oauth: the answer is the same redirect a script gets, so the gateway's consent cookie
    // (SameSite=Lax) comes along as on amoCRM's own redirect. No script, so it works under any CSP.
    private static IResult ConsentPage(string clientId, string stateParameter, string mode, EmulatorAccount chosen, IReadOnlyList<EmulatorAccount> accounts)
    {
        static string Encode(string text) => System.Net.WebUtility.HtmlEncode(text);
        var html = new System.Text.StringBuilder()
            .Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>Allow access · amoCRM emulator</title></head>")
            .Append("<body style=\"font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#1d1d1f\"><main>")
            .Append("<h1>Allow access to your amoCRM account</h1>")
            .Append("<p>The integration <code>").Append(Encode(clientId)).Append("</code> asks for access to one of your accounts. ")
            .Append("This is the amoCRM emulator: nothing leaves this machine.</p>")
            .Append("<form method=\"get\" action=\"/oauth\">")
            .Append("<input type=\"hidden\" name=\"client_id\" value=\"").Append(Encode(clientId)).Append("\">")
            .Append("<input type=\"hidden\" name=\"state\" value=\"").Append(Encode(stateParameter)).Append("\">");
        if (mode.Length > 0)
        {
            html.Append("<input type=\"hidden\" name=\"mode\" value=\"").Append(Encode(mode)).Append("\">");
        }

        html.Append("<p><label for=\"account\">Account</label> <select id=\"account\" name=\"account\">");
        foreach (var account in accounts)
        {
            var id = account.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            html.Append("<option value=\"").Append(id).Append('"').Append(account.Id == chosen.Id ? " selected" : "").Append('>')
                .Append(Encode(account.Host)).Append(" (id ").Append(id).Append(")</option>");
        }

        html.Append("</select></p><p>")
            .Append("<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> ")
            .Append("<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>")
            .Append("</p></form></main></body></html>");
        return Results.Text(html.ToString(), AmoResults.Html + "; charset=utf-8");
    }

    private static async Task<IResult> AccessTokenAsync(HttpContext context, EmulatorState state, EmulatorOptions options)
    {
        var parameters = await ReadParametersAsync(context.Request, context.RequestAborted);
        string? Get(string key) => parameters.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

        var grantType = Get("grant_type");
        if (grantType == "refresh_token")
        {
            state.CountRefreshGrant();
        }
        else if (grantType == "authorization_code")
        {
            state.CountCodeGrant();
        }

        if (grantType is null)
        {
            return AmoResults.OAuthProblem(400, "Check the `grant_type` parameter");
        }

        if (grantType is not ("refresh_token" or "authorization_code"))
        {
            return AmoResults.OAuthProblem(400, "The authorization grant type is not supported by the authorization server");
        }

        if (!string.Equals(Get("client_id"), options.ClientId, StringComparison.Ordinal))
        {
            return AmoResults.OAuthProblem(400, "Check the `client_id` parameter");
        }

        if (!string.Equals(Get("client_secret"), options.ClientSecret, StringComparison.Ordinal))
        {
            return AmoResults.OAuthProblem(400, "Check the `client_secret` parameter");
        }

        if (!string.Equals(Get("redirect_uri"), options.RedirectUri, StringComparison.Ordinal))
        {
            return AmoResults.OAuthProblem(400, "Redirect URI is not associated with client");
        }

        if (grantType == "authorization_code")
        {
            if (Get("code") is not { } code)
            {
                return AmoResults.OAuthProblem(400, "Check the `code` parameter");
            }

            return state.ExchangeCode(code, out var pair) switch
            {
                CodeOutcome.Issued => TokenAnswer(pair!, options),
                CodeOutcome.Revoked => AmoResults.OAuthProblem(400, "Authorization code has been revoked"),
                CodeOutcome.Expired => AmoResults.OAuthProblem(400, "Authorization code has expired"),
                _ => AmoResults.OAuthProblem(400, "Cannot decrypt the authorization code"),
            };
        }

        if (Get("refresh_token") is not { } refreshToken)
        {
            return AmoResults.OAuthProblem(400, "Check the `refresh_token` parameter");
        }

        // Unknown, used, revoked and expired refresh tokens all look the same to the client.
        if (state.Refresh(refreshToken) is not { } refreshed)
        {
            return AmoResults.OAuthProblem(401, "Token has been revoked");
        }

        if (state.TryConsumeLoseNextRefreshAnswer())
        {
            AmoGate.Abort(context);
            return Results.Empty;
        }

        return TokenAnswer(refreshed, options);
    }

    private static IResult TokenAnswer(TokenPair pair, EmulatorOptions options) => AmoResults.PlainJson(new JsonObject
    {
        ["token_type"] = "Bearer",
        ["expires_in"] = (long)options.AccessTokenLifetime.TotalSeconds,
        ["access_token"] = pair.AccessToken,
        ["refresh_token"] = pair.RefreshToken,
    });

    // GET https://{api_domain}/oauth2/account/current/subdomain with X-Refresh-Token: the account's current subdomain.
    private static IResult CurrentSubdomain(HttpRequest request, EmulatorState state)
    {
        var refreshToken = request.Headers["X-Refresh-Token"].ToString();
        if (refreshToken.Length == 0 || state.AccountOfRefreshToken(refreshToken) is not { } account)
        {
            return AmoResults.Unauthorized();
        }

        return AmoResults.PlainJson(new JsonObject
        {
            ["id"] = account.Id,
            ["subdomain"] = account.Subdomain,
            ["domain"] = account.Host,
            ["top_level_domain"] = "ru",
        });
    }

    // The token endpoint takes JSON or a form; JSON numbers are read as their text.
    private static async Task<Dictionary<string, string>> ReadParametersAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(cancellationToken);
            foreach (var (key, value) in form)
            {
                parameters[key] = value.ToString();
            }

            return parameters;
        }

        using var reader = new StreamReader(request.Body, leaveOpen: true);
        if (JsonRead.TryParse(await reader.ReadToEndAsync(cancellationToken)) is JsonObject json)
        {
            foreach (var (key, value) in json)
            {
                if (JsonRead.AsScalarText(value) is { } text)
                {
                    parameters[key] = text;
                }
            }
        }

        return parameters;
    }
}
