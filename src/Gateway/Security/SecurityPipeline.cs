using Gateway.Hosting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

internal static class SecurityPipeline
{
    // The OAuth callback page has an inline style and nothing else: no script, no frames, no forms.
    public const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    public static IServiceCollection AddGatewaySecurity(this IServiceCollection services)
    {
        services.AddFlatOptions<SecurityOptions, SecurityOptionsSetup, SecurityOptionsValidator>();
        services.AddSingleton<StoredApiKeys>();
        services.AddSingleton<ApiKeyRing>();
        services.AddSingleton<BadKeyTracker>();
        services.AddSingleton<MetricsCredential>();
        services.AddSingleton<InboundLimits>();
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        return services;
    }

    // X-Forwarded-For/Proto count only when the connection comes from a configured proxy; with none configured they are ignored.
    public static IApplicationBuilder UseTrustedForwardedHeaders(this IApplicationBuilder app)
    {
        var settings = app.ApplicationServices.GetRequiredService<IOptions<SecurityOptions>>().Value;
        if (settings.TrustedProxies.Count + settings.TrustedNetworks.Count == 0)
        {
            return app;
        }

        var forwarded = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            // Walks back through the chain only while each hop is a trusted proxy.
            ForwardLimit = null,
        };
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        foreach (var proxy in settings.TrustedProxies)
        {
            forwarded.KnownProxies.Add(proxy);
        }

        foreach (var network in settings.TrustedNetworks)
        {
            forwarded.KnownIPNetworks.Add(network);
        }

        return app.UseForwardedHeaders(forwarded);
    }

    // Added as the response starts, so answers written by the exception handler (which clears headers) get them too.
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var http = (HttpContext)state;
                var headers = http.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                // A page with its own policy (the admin sign-in form) keeps it; everything else gets the strict one.
                if (string.IsNullOrEmpty(headers.ContentSecurityPolicy))
                {
                    headers.ContentSecurityPolicy = ContentSecurityPolicy;
                }

                // Pages with forms (sign-in, the console) say "same-origin": under "no-referrer" chromium posts a form
                // with "Origin: null", and the sign-in's same-origin check must refuse that.
                if (string.IsNullOrEmpty(headers["Referrer-Policy"]))
                {
                    headers["Referrer-Policy"] = "no-referrer";
                }
                if (string.IsNullOrEmpty(headers.CacheControl))
                {
                    headers.CacheControl = "no-store";
                }

                if (http.Request.IsHttps)
                {
                    headers.StrictTransportSecurity = "max-age=31536000";
                }

                return Task.CompletedTask;
            }, context);
            return next(context);
        });

    public static IApplicationBuilder UseInboundLimits(this IApplicationBuilder app)
    {
        var limits = app.ApplicationServices.GetRequiredService<InboundLimits>();
        return app.Use((context, next) => limits.InvokeAsync(context, next));
    }

    // Preflight carries no key: it is allowed when the global list or ANY key's list allows the origin.
    // The request itself is then judged by its own key: a key with cors_origins refuses (403) a browser from elsewhere.
    public static IApplicationBuilder UseGatewayCors(this IApplicationBuilder app)
    {
        var origins = app.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value.CorsAllowedOrigins;
        var keys = app.ApplicationServices.GetRequiredService<ApiKeyRing>();
        var allowAny = origins.Contains("*");
        var allowed = new HashSet<string>(origins, StringComparer.OrdinalIgnoreCase);
        return app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            var origin = context.Request.Headers.Origin.ToString();
            var key = ApiKeyCaller.Get(context);
            if (key?.CorsOrigins is not null && !HttpMethods.IsOptions(context.Request.Method))
            {
                headers.Vary = "Origin";
                if (origin.Length == 0)
                {
                    return next(context);
                }

                if (!key.AllowsOrigin(origin))
                {
                    return Envelope.WriteAsync(context, StatusCodes.Status403Forbidden,
                        new Envelope { Success = false, Error = "Origin not allowed for this API key", Details = new OriginRefused(origin) });
                }

                headers.AccessControlAllowOrigin = origin;
                return next(context);
            }

            if (allowAny)
            {
                headers.AccessControlAllowOrigin = "*";
            }
            else if (origin.Length > 0 && (allowed.Contains(origin) || (HttpMethods.IsOptions(context.Request.Method) && keys.Keys.Any(k => k.CorsOrigins is not null && k.AllowsOrigin(origin)))))
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

internal sealed record OriginRefused(string Origin);
