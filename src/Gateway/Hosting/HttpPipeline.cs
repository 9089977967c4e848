using Gateway.Configuration;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

internal static class HttpPipeline
{
    // The old gateway ignored trailing slashes: /health/ is /health.
    public static IApplicationBuilder UseTrailingSlashTolerance(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var path = context.Request.Path.Value;
            if (path is { Length: > 1 } && path[^1] == '/')
            {
                context.Request.Path = new PathString(path.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/");
            }

            return next(context);
        });

    // Preflight answers 200 like the old gateway; "*" stays the default, an allow-list echoes the matching origin.
    public static IApplicationBuilder UseGatewayCors(this IApplicationBuilder app)
    {
        var origins = app.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value.CorsAllowedOrigins;
        var allowAny = origins.Contains("*");
        var allowed = new HashSet<string>(origins, StringComparer.OrdinalIgnoreCase);
        return app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            var origin = context.Request.Headers.Origin.ToString();
            if (allowAny)
            {
                headers.AccessControlAllowOrigin = "*";
            }
            else if (origin.Length > 0 && allowed.Contains(origin))
            {
                headers.AccessControlAllowOrigin = origin;
                headers.Vary = "Origin";
            }

            if (!HttpMethods.IsOptions(context.Request.Method))
            {
                return next(context);
            }

            headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
            headers.AccessControlAllowHeaders = "Content-Type, X-API-KEY, Idempotency-Key";
            headers.AccessControlMaxAge = "86400";
            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        });
    }
}
