using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// /admin/login and /admin/logout (plain forms, for a person) and /api/v1/admin/session (for the console's script).
internal static class AdminSignInApi
{
    public const string LoginPath = "/admin/login";
    public const string LogoutPath = "/admin/logout";
    public const string SessionPath = "/api/v1/admin/session";
    public const string DefaultNext = "/admin/";

    public static IEndpointRouteBuilder MapAdminSignIn(this IEndpointRouteBuilder routes)
    {
        var pages = routes.MapGroup("/admin").WithTags("Admin");
        pages.MapGet("/login", (HttpContext context, AdminSignIn signIn) => signIn.Page(context));
        pages.MapPost("/login", (HttpContext context, AdminSignIn signIn) => signIn.SignInAsync(context));
        pages.MapPost("/logout", (HttpContext context, AdminSignIn signIn) => signIn.SignOutAsync(context));
        routes.MapGet(SessionPath, Describe).RequireScope(Scopes.Admin).WithTags("Admin");
        return routes;
    }

    public static bool IsLoginPage(PathString path) => path.Equals(LoginPath, StringComparison.OrdinalIgnoreCase);

    public static bool ChecksOriginItself(PathString path) =>
        path.Equals(LoginPath, StringComparison.OrdinalIgnoreCase) || path.Equals(LogoutPath, StringComparison.OrdinalIgnoreCase);

    // Who is signed in, until when, and the token a write must carry; a key caller has no session to describe.
    private static IResult Describe(HttpContext context, IOptions<AdminSessionOptions> options)
    {
        if (AdminSessionCaller.Get(context) is not { } caller)
        {
            return Envelope.Ok(new AdminSessionView(context.User.Identity?.Name ?? "", "api_key", null, null, null, null, null, null));
        }

        var session = caller.Session;
        var idle = options.Value.IdleTimeout;
        return Envelope.Ok(new AdminSessionView(
            session.Admin,
            session.Method,
            session.CreatedAt.ToUnixTimeSeconds(),
            session.EndsAt(idle).ToUnixTimeSeconds(),
            session.ExpiresAt.ToUnixTimeSeconds(),
            (long)idle.TotalSeconds,
            AdminSessionAuthentication.CsrfHeader,
            caller.CsrfToken));
    }

    // Only a path on this gateway: one leading slash, printable ASCII, no backslash (browsers read "/\evil" as "//evil").
    public static string SafeNext(string? next)
    {
        if (next is not { Length: > 0 and <= 2048 } || next[0] != '/' || (next.Length > 1 && next[1] is '/' or '\\'))
        {
            return DefaultNext;
        }

        foreach (var c in next)
        {
            if (c is < '!' or > '~' or '\\')
            {
                return DefaultNext;
            }
        }

        return next;
    }
}

internal sealed record AdminSessionView(
    string Name,
    string SignedInWith,
    long? SignedInAt,
    long? ExpiresAt,
    long? EndsAtLatest,
    long? IdleTimeoutSeconds,
    string? CsrfHeader,
    string? CsrfToken);
