using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Gateway.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// The admin's browser session: the cookie set at /admin/login, looked up in the database on every request that carries it.
internal sealed class AdminSessionAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AdminSessionStore sessions,
    ApiKeyRing keys,
    PersonalData personalData,
    IOptions<AdminSessionOptions> admin)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "AdminSession";
    public const string CookieName = "gateway_admin";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Request.Cookies[CookieName] is not { Length: > 0 } cookie)
        {
            return AuthenticateResult.NoResult();
        }

        var session = await sessions.FindAsync(cookie, Context.RequestAborted);
        if (session is null)
        {
            return AuthenticateResult.Fail("The admin session has ended");
        }

        // A session is only as good as what opened it: a removed key, a key that lost admin, or a password no longer
        // configured, or changed, ends the sessions it opened.
        if (!StillAdmits(session))
        {
            await sessions.RevokeAsync(cookie, Context.RequestAborted);
            return AuthenticateResult.Fail("The credential that opened the admin session is gone");
        }

        AdminSessionCaller.Set(Context, new AdminSessionCaller(session, AdminSessionStore.CsrfTokenOf(cookie)));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, session.Admin), new Claim(Scopes.ClaimType, Scopes.Admin)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    // A cookie that no longer opens anything is dropped, and the console hears where to sign in again.
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Cookies.Delete(CookieName, AdminSessionCookie.Options(Request));
        return Envelope.WriteAsync(Context, StatusCodes.Status401Unauthorized, new Envelope
        {
            Success = false,
            Error = "Not signed in: the admin session has ended or was signed out",
            Details = new SignInAgain(AdminSignInApi.LoginPath),
        });
    }

    private bool StillAdmits(AdminSession session) => session.Method switch
    {
        AdminSignInMethods.Password => admin.Value.Password is { } password && session.KeyHash is { } hash
            && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(hash), password.Fingerprint(personalData)),
        AdminSignInMethods.Key => session.KeyHash is { } hash && keys.FindByHash(Convert.FromHexString(hash)) is { IsAdmin: true },
        _ => false,
    };
}

// The session (and its anti-forgery token) that authenticated this request, for the anti-forgery check and /api/v1/admin/session.
internal sealed record AdminSessionCaller(AdminSession Session, string CsrfToken)
{
    private static readonly object Item = new();

    public static void Set(HttpContext context, AdminSessionCaller caller) => context.Items[Item] = caller;

    public static AdminSessionCaller? Get(HttpContext context) => context.Items.TryGetValue(Item, out var caller) ? caller as AdminSessionCaller : null;
}

internal static class AdminSessionCookie
{
    public static CookieOptions Options(HttpRequest request) => new()
    {
        HttpOnly = true,
        Secure = request.IsHttps,
        SameSite = SameSiteMode.Strict,
        Path = "/",
        IsEssential = true,
    };
}

internal static class AdminSessionAuthentication
{
    // The default scheme: X-API-KEY when the request carries one, else the session cookie when it carries that.
    public const string CallerScheme = "Caller";
    public const string CsrfHeader = "X-Gateway-Csrf";

    public static AuthenticationBuilder AddAdminSession(this AuthenticationBuilder builder)
    {
        builder.Services.AddFlatOptions<AdminSessionOptions, AdminSessionOptionsSetup, AdminSessionOptionsValidator>();
        builder.Services.AddSingleton<AdminSessionStore>();
        builder.Services.AddSingleton<AdminSignIn>();
        builder.AddPolicyScheme(CallerScheme, "X-API-KEY or the admin session", o => o.ForwardDefaultSelector = SchemeFor);
        builder.AddScheme<AuthenticationSchemeOptions, AdminSessionAuthenticationHandler>(AdminSessionAuthenticationHandler.SchemeName, null);
        return builder;
    }

    // A key speaks for itself, and everything without a session cookie keeps the key scheme's 401.
    private static string SchemeFor(HttpContext context) =>
        context.Request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName) || Sources.HookKeyInPath.Of(context) is not null || !context.Request.Cookies.ContainsKey(AdminSessionAuthenticationHandler.CookieName)
            ? ApiKeyAuthenticationHandler.SchemeName
            : AdminSessionAuthenticationHandler.SchemeName;

    // A browser sends the cookie with whatever a page makes it send; a write counts only with the session's own token in a
    // header, which no other page can read or set. Sign-in and sign-out check the Origin instead (they are plain forms).
    public static IApplicationBuilder UseAdminSessionAntiForgery(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (AdminSessionCaller.Get(context) is not { } caller
                || HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || HttpMethods.IsOptions(context.Request.Method)
                || AdminSignInApi.ChecksOriginItself(context.Request.Path))
            {
                return next(context);
            }

            var presented = context.Request.Headers[CsrfHeader];
            if (presented.Count == 1 && presented[0] is { } token
                && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(caller.CsrfToken)))
            {
                return next(context);
            }

            return Envelope.WriteAsync(context, StatusCodes.Status403Forbidden, new Envelope
            {
                Success = false,
                Error = $"Forbidden: a change made in an admin session needs the {CsrfHeader} header",
                Details = new CsrfMissing(CsrfHeader, AdminSignInApi.SessionPath),
            });
        });
}

internal sealed record SignInAgain(string Login);

internal sealed record CsrfMissing(string Header, string TokenFrom);
