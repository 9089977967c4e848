using Gateway.Accounts;
using Gateway.AdminConsole;
using Gateway.Amo;
using Gateway.Data;
using Gateway.Events;
using Gateway.Leads;
using Gateway.Observability;
using Gateway.Operations;
using Gateway.Outbox;
using Gateway.Security;
using Gateway.Sources;

namespace Gateway.Hosting;

internal static class GatewayServiceCollectionExtensions
{
    public static IServiceCollection AddGatewayCore(this IServiceCollection services)
    {
        services.AddSingleton(TimeProvider.System);
        // Whatever the framework serialises with its own options (the OpenAPI document's schemas) finds the generated metadata first.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, WireJson.Default));
        services.AddFlatOptions<GatewayOptions, GatewayOptionsSetup, GatewayOptionsValidator>();
        services.AddSingleton<ILoggerProvider, ErrorFileLoggerProvider>();
        services.AddObservability();

        services.AddData();
        services.AddEnvelopeErrors();
        return services;
    }

    public static IServiceCollection AddGatewayFeatures(this IServiceCollection services)
    {
        services.AddAccounts();
        services.AddGatewaySecurity();
        services.AddApiKeyAuthentication();
        services.AddAmo();
        services.AddOutbox();
        services.AddLeads();
        Contacts.ContactsServiceCollectionExtensions.AddContacts(services);
        services.AddSources();
        services.AddOperations();
        services.AddConsole();
        services.AddEvents();
        return services;
    }

    public static WebApplication UseGatewayPipeline(this WebApplication app)
    {
        // The real client address first (limits and logs read it), then the request id every answer carries.
        // A hook's key leaves the path before anything can log, count or trace it.
        app.UseHookKeyInPath();
        app.UseTrustedForwardedHeaders();
        app.UseRequestTelemetry();
        app.UseSecurityHeaders();
        app.UseEnvelopeErrors();
        app.UseTrailingSlashTolerance();
        // Authentication before the limiter and CORS: both depend on which key (if any) the request carries.
        app.UseAuthentication();
        app.UseInboundLimits();
        app.UseAdminSessionAntiForgery();
        app.UseGatewayCors();
        app.UseRouting();
        app.UseRouteCapture();
        app.UseAuthorization();
        return app;
    }
}
