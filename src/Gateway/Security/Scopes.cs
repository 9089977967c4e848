using System.Security.Claims;
using Gateway.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Gateway.Security;

// What a caller may do. A key in a web page is public, so "leads" alone reads nothing back; "read" sees info and the
// leads of its own key; "admin" is everything (consent, diagnostics, replay, metrics, every lead).
internal static class Scopes
{
    public const string Leads = "leads";
    public const string Read = "read";
    public const string Admin = "admin";
    public const string ClaimType = "scope";

    public static readonly IReadOnlyList<string> All = [Leads, Read, Admin];

    public static bool IsKnown(string scope) => All.Contains(scope, StringComparer.Ordinal);

    // A key meant for a page (cors_origins) gets leads only; any other keys-file key without scopes gets leads and read.
    public static IReadOnlySet<string> DefaultFor(bool hasCorsOrigins) =>
        hasCorsOrigins ? new HashSet<string>(StringComparer.Ordinal) { Leads } : new HashSet<string>(StringComparer.Ordinal) { Leads, Read };

    public static IReadOnlySet<string> Everything { get; } = new HashSet<string>(All, StringComparer.Ordinal);

    public static bool Has(ClaimsPrincipal user, string scope) =>
        user.HasClaim(ClaimType, scope) || (scope != Admin && user.HasClaim(ClaimType, Admin));

    public static bool IsAdmin(HttpContext context) => Has(context.User, Admin);

    public static string PolicyName(string scope) => "scope:" + scope;

    // A known caller without the scope hears which scope it needs, in the envelope.
    public static IResult Refusal(string scope) =>
        Envelope.Fail(StatusCodes.Status403Forbidden, $"Forbidden: this needs the \"{scope}\" scope", new ScopeMissing(scope));

    // Authenticated (else 401) and holding the scope (else 403 naming it).
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope)
        where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(PolicyName(scope));

    public static AuthorizationBuilder AddScopePolicies(this AuthorizationBuilder authorization)
    {
        foreach (var scope in All)
        {
            authorization.AddPolicy(PolicyName(scope), policy => policy.RequireAuthenticatedUser().AddRequirements(new ScopeRequirement(scope)));
        }

        return authorization;
    }
}

internal sealed class ScopeRequirement(string scope) : AuthorizationHandler<ScopeRequirement>, IAuthorizationRequirement
{
    public string Scope { get; } = scope;

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (Scopes.Has(context.User, requirement.Scope))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

// A known caller without the scope hears which scope the route needs, in the envelope; everything else is the framework's.
internal sealed class ScopeRefusalHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler fallback = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && policy.Requirements.OfType<ScopeRequirement>().FirstOrDefault() is { } missing)
        {
            return Scopes.Refusal(missing.Scope).ExecuteAsync(context);
        }

        return fallback.HandleAsync(next, context, policy, authorizeResult);
    }
}

internal sealed record ScopeMissing(string RequiredScope);
