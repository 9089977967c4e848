using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gateway.Amo;
using Gateway.Hosting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Security;

// Signing in with ADMIN_PASSWORD or an admin key, and signing out. Wrong guesses feed the same brake as wrong API keys.
internal sealed partial class AdminSignIn(
    AdminSessionStore sessions,
    ApiKeyRing keys,
    BadKeyTracker badKeys,
    IOptions<AdminSessionOptions> options,
    Accounts.AccountRegistry accounts,
    PersonalData personalData,
    AdminConsole.ConsoleLanguage language,
    ILogger<AdminSignIn> logger)
{
    private const string AdminName = "admin";

    // Every configured account's consent page: signing in on the way to /oauth/authorize?account=… ends at that account's.
    private string ConsentPages() =>
        string.Join(' ', accounts.All.Select(a => a.AuthUrl.GetLeftPart(UriPartial.Authority)).Distinct(StringComparer.OrdinalIgnoreCase));

    // ?lang= (the page's language links) is remembered in the same cookie the console's own switch sets.
    public IResult Page(HttpContext context)
    {
        var picked = AdminConsole.ConsoleLanguage.Known(context.Request.Query["lang"]);
        if (picked is not null)
        {
            context.Response.Cookies.Append(AdminConsole.ConsoleLanguage.CookieName, picked, AdminConsole.ConsoleLanguage.CookieOptions(context.Request));
        }

        return Render(context, AdminSignInApi.SafeNext(context.Request.Query["next"]), null, StatusCodes.Status200OK, picked);
    }

    // The brute-force brake, as a person at the sign-in page sees it: the page again, saying how long to wait.
    public IResult Braked(HttpContext context, TimeSpan wait)
    {
        var minutes = Math.Max(1, (int)Math.Ceiling(wait.TotalMinutes)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var next = HttpMethods.IsGet(context.Request.Method) ? context.Request.Query["next"].ToString() : null;
        return Render(context, AdminSignInApi.SafeNext(next), text => text["login.braked"].Replace("{minutes}", minutes, StringComparison.Ordinal), StatusCodes.Status429TooManyRequests);
    }

    private IResult Render(HttpContext context, string next, Func<AdminLoginText, string>? alert, int status, string? picked = null)
    {
        var text = new AdminLoginText(language, picked ?? AdminConsole.ConsoleLanguage.Of(context.Request));
        return AdminLoginPage.Render(context, text, options.Value.Password is not null, next, alert?.Invoke(text), status, ConsentPages());
    }

    public async Task<IResult> SignInAsync(HttpContext context)
    {
        var client = ApiKeyCaller.ClientBucket(context);
        if (!IsSameOrigin(context.Request))
        {
            LogCrossSite(client, "sign-in");
            return Envelope.Fail(StatusCodes.Status403Forbidden, "Sign-in refused: the form was not sent from this gateway's own page");
        }

        if (await ReadFormAsync(context) is not { } form)
        {
            return Envelope.Fail(StatusCodes.Status400BadRequest, "Sign-in expects a form (application/x-www-form-urlencoded) with a password or a key");
        }

        var next = AdminSignInApi.SafeNext(Field(form, "next"));
        var (admin, method, keyHash, guessed) = Identify(Field(form, "password"), Field(form, "key"));
        if (admin is null)
        {
            if (guessed)
            {
                badKeys.RecordFailure(client);
            }

            LogRefused(client);
            return Render(context, next, text => text["login.refused"], StatusCodes.Status401Unauthorized);
        }

        // A new cookie at every sign-in, and the browser's previous one revoked: nobody can plant a session beforehand.
        if (context.Request.Cookies[AdminSessionAuthenticationHandler.CookieName] is { Length: > 0 } previous)
        {
            await sessions.RevokeAsync(previous, context.RequestAborted);
        }

        var cookie = await sessions.OpenAsync(admin, method, keyHash, context.RequestAborted);
        context.Response.Cookies.Append(AdminSessionAuthenticationHandler.CookieName, cookie, AdminSessionCookie.Options(context.Request));
        LogSignedIn(admin, method, client);
        return SeeOther(context, next);
    }

    public async Task<IResult> SignOutAsync(HttpContext context)
    {
        var client = ApiKeyCaller.ClientBucket(context);
        if (!IsSameOrigin(context.Request))
        {
            LogCrossSite(client, "sign-out");
            return Envelope.Fail(StatusCodes.Status403Forbidden, "Sign-out refused: the form was not sent from this gateway's own page");
        }

        if (context.Request.Cookies[AdminSessionAuthenticationHandler.CookieName] is { Length: > 0 } cookie)
        {
            await sessions.RevokeAsync(cookie, context.RequestAborted);
            LogSignedOut(context.User.Identity?.Name ?? "(an ended session)", client);
        }

        context.Response.Cookies.Delete(AdminSessionAuthenticationHandler.CookieName, AdminSessionCookie.Options(context.Request));
        return SeeOther(context, AdminSignInApi.LoginPath);
    }

    // Password first; a form with both is judged by the password alone, so one request is one guess.
    private (string? Admin, string Method, byte[]? KeyHash, bool Guessed) Identify(string password, string key)
    {
        if (password.Length > 0)
        {
            return options.Value.Password?.Matches(password) == true
                ? (AdminName, AdminSignInMethods.Password, options.Value.Password.Fingerprint(personalData), false)
                : (null, "", null, true);
        }

        if (key.Length == 0)
        {
            return (null, "", null, false);
        }

        // A real key without the admin scope is no guess; it just does not open the console.
        return keys.Find(key) switch
        {
            null => (null, "", null, true),
            { IsAdmin: true } admin => (admin.Name, AdminSignInMethods.Key, admin.Hash, false),
            _ => (null, "", null, false),
        };
    }

    // Login CSRF: another site's form would sign this browser into a session of the attacker's choosing (or spend the
    // brake of the victim's address). Browsers send Origin with every POST and Sec-Fetch-Site with most; a request with
    // neither is no browser, and no browser can be tricked into it.
    internal static bool IsSameOrigin(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0 && site is not ("same-origin" or "none"))
        {
            return false;
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        // "null" (a sandboxed or privacy-stripped origin) is no URL and is refused. An https origin in front of a plain
        // http request is TLS ended by a proxy.
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && (uri.Scheme == request.Scheme || uri.Scheme == Uri.UriSchemeHttps)
            && (string.Equals(uri.Host, request.Host.Host, StringComparison.OrdinalIgnoreCase) || string.Equals(uri.IdnHost, request.Host.Host, StringComparison.OrdinalIgnoreCase))
            && (request.Host.Port is not { } port || port == uri.Port);
    }

    private static async Task<Dictionary<string, StringValues>?> ReadFormAsync(HttpContext context)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            || !type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            using var reader = new FormReader(context.Request.Body, Encoding.UTF8) { ValueCountLimit = 8, KeyLengthLimit = 32, ValueLengthLimit = 4096 };
            return await reader.ReadFormAsync(context.RequestAborted);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private static string Field(Dictionary<string, StringValues> form, string name) =>
        form.TryGetValue(name, out var values) && values.Count == 1 ? values[0] ?? "" : "";

    private static IResult SeeOther(HttpContext context, string location)
    {
        context.Response.Headers.Location = location;
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin {Admin} signed in with a {Method} from {Client}")]
    private partial void LogSignedIn(string admin, string method, string client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admin sign-in from {Client} refused: wrong password or key")]
    private partial void LogRefused(string client);

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin {Admin} signed out from {Client}")]
    private partial void LogSignedOut(string admin, string client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admin {Action} from {Client} refused: the form came from another site")]
    private partial void LogCrossSite(string client, string action);
}

// The sign-in page: no script, one inline style allowed by its hash, forms that post only here.
internal static class AdminLoginPage
{
    private const string Style =
        "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}" +
        "main{max-width:26em;margin:4em auto;padding:2em;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12)}" +
        "h1{font-size:1.4em;margin-top:0}label{display:block;margin:1em 0 .3em}" +
        "input{width:100%;box-sizing:border-box;padding:.5em;font-size:1em}button{margin-top:1em;padding:.5em 1.2em;font-size:1em}" +
        ".error{color:#9b1c1c;background:#fde8e8;padding:.6em;border-radius:4px}.note{background:#fff8e1;padding:.6em;border-radius:4px}" +
        "form+form,.note+form{margin-top:1.5em;border-top:1px solid #e3e5e8;padding-top:.5em}code{background:#eef0f3;padding:0 .2em}" +
        ".langs{margin-top:1.5em}.langs a{margin-right:.8em;color:#1a56b8}.langs a[aria-current]{font-weight:700}";

    private static readonly string StyleHash = "'sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Style))) + "'";

    public static IResult Render(HttpContext context, AdminLoginText text, bool hasPassword, string next, string? alert, int status, string consentOrigins)
    {
        // form-action is checked on every redirect after the post too: signing in on the way to /oauth/authorize ends
        // at amoCRM's consent page, so its origin is allowed beside this one.
        context.Response.Headers.ContentSecurityPolicy =
            $"default-src 'none'; style-src {StyleHash}; form-action 'self' {consentOrigins}; frame-ancestors 'none'; base-uri 'none'";
        context.Response.Headers["Referrer-Policy"] = "same-origin";
        var hiddenNext = $"<input type=\"hidden\" name=\"next\" value=\"{WebUtility.HtmlEncode(next)}\">";
        var html = new StringBuilder()
            .Append("<!doctype html><html lang=\"").Append(text.Language).Append("\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(text["login.title"]).Append("</title><style>").Append(Style).Append("</style></head><body><main><h1>").Append(text["login.title"]).Append("</h1>");
        if (alert is not null)
        {
            html.Append("<p class=\"error\" role=\"alert\">").Append(alert).Append("</p>");
        }

        if (hasPassword)
        {
            html.Append("<form method=\"post\" action=\"").Append(AdminSignInApi.LoginPath).Append("\">").Append(hiddenNext)
                .Append("<label for=\"password\">").Append(text["login.password"]).Append("</label>")
                .Append("<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required autofocus>")
                .Append("<button type=\"submit\">").Append(text["login.sign_in"]).Append("</button></form>");
        }
        else
        {
            // First run: say how to set a password; there is no default one to fall back on.
            html.Append("<p class=\"note\">").Append(text["login.first_run"]
                .Replace("{setting}", "<code>ADMIN_PASSWORD=</code>", StringComparison.Ordinal)
                .Replace("{min}", AdminSessionOptions.MinPasswordLength.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{file}", "<code>.env</code>", StringComparison.Ordinal)
                .Replace("{key}", "<code>API_KEY</code>", StringComparison.Ordinal)
                .Replace("{scope}", "<code>admin</code>", StringComparison.Ordinal)).Append("</p>");
        }

        html.Append("<form method=\"post\" action=\"").Append(AdminSignInApi.LoginPath).Append("\">").Append(hiddenNext)
            .Append("<label for=\"key\">").Append(text[hasPassword ? "login.or_key" : "login.key"]).Append("</label>")
            .Append("<input id=\"key\" name=\"key\" type=\"password\" autocomplete=\"off\" required").Append(hasPassword ? "" : " autofocus").Append('>')
            .Append("<button type=\"submit\">").Append(text["login.sign_in_key"]).Append("</button></form>");
        // Plain links (no script on this page): the choice is remembered for the console too.
        html.Append("<nav class=\"langs\" aria-label=\"").Append(text["login.language"]).Append("\">");
        foreach (var (code, name) in new[] { ("uz", "O‘zbekcha"), ("ru", "Русский"), ("en", "English") })
        {
            html.Append("<a lang=\"").Append(code).Append("\" href=\"").Append(AdminSignInApi.LoginPath).Append("?lang=").Append(code)
                .Append("&amp;next=").Append(WebUtility.HtmlEncode(Uri.EscapeDataString(next))).Append('"')
                .Append(code == text.Language ? " aria-current=\"true\"" : "").Append('>').Append(name).Append("</a> ");
        }

        html.Append("</nav></main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }
}

// The sign-in page's words in one language, HTML-encoded, from the console's catalogue.
internal sealed class AdminLoginText(AdminConsole.ConsoleLanguage catalogue, string language)
{
    public string Language => language;

    public string this[string key] => WebUtility.HtmlEncode(catalogue.Text(language, key));
}
