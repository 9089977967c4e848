using System.Security.Claims;
using System.Text.Encodings.Web;
using Gateway.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyRing keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-API-KEY";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // A form tool's key comes in its hook's path (Sources.HookKeyInPath) when it cannot send the header.
        string? presented = Request.Headers.TryGetValue(HeaderName, out var values) && values.Count == 1 && !string.IsNullOrEmpty(values[0])
            ? values[0]
            : Request.Headers.ContainsKey(HeaderName) ? null : Sources.HookKeyInPath.Of(Context);
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (keys.Find(presented) is not { } key)
        {
            ApiKeyCaller.MarkRejected(Context);
            return Task.FromResult(AuthenticateResult.Fail("Invalid API key"));
        }

        ApiKeyCaller.Set(Context, key);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, key.Name), .. key.Scopes.Select(s => new Claim(Scopes.ClaimType, s))], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => ApiKeyRefusal.Result.ExecuteAsync(Context);
}

// The one answer to a missing or wrong key, on every route and on /metrics (the old gateway's wording).
internal static class ApiKeyRefusal
{
    public static IResult Result { get; } = Results.Json(
        new ApiKeyRefusalBody(false, "Invalid or missing API key", "Please provide valid X-API-KEY header"),
        Envelope.InfoOf<ApiKeyRefusalBody>(),
        "application/json; charset=utf-8",
        StatusCodes.Status401Unauthorized);
}

internal static class ApiKeyAuthenticationExtensions
{
    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        // The default scheme picks X-API-KEY when present, else the admin session cookie (AdminSessionAuthentication).
        services.AddAuthentication(AdminSessionAuthentication.CallerScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddAdminSession();
        services.AddAuthorizationBuilder().AddScopePolicies();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, ScopeRefusalHandler>();
        return services;
    }
}

// Not an Envelope: the old gateway wrote error before message here, and callers may compare bodies.
internal sealed record ApiKeyRefusalBody(bool Success, string Error, string Message);
