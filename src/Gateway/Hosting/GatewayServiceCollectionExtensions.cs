using Gateway.Amo;
using Gateway.Amo.Consent;
using Gateway.Amo.Pacing;
using Gateway.Amo.Tokens;
using Gateway.Data;
using Gateway.Leads;
using Gateway.Observability;
using Gateway.Operations;
using Gateway.Outbox;
using Gateway.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

internal static class GatewayServiceCollectionExtensions
{
    public static IServiceCollection AddGatewayCore(this IServiceCollection services)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddFlatOptions<GatewayOptions, GatewayOptionsSetup, GatewayOptionsValidator>();
        services.AddSingleton<ILoggerProvider, ErrorFileLoggerProvider>();
        services.AddObservability();

        services.AddFlatOptions<DatabaseOptions, DatabaseOptionsSetup, DatabaseOptionsValidator>();
        services.AddSingleton<Database>();
        services.AddSingleton<Schema>();
        services.AddSingleton<LeaseStore>();
        services.AddHostedService<StartupTasks>();
        services.AddEnvelopeErrors();

        // Keys beside the data they protect, resolved once options exist (tests and .env set DATA_DIR late):
        // in the shared database for PostgreSQL, under DATA_DIR/keys for SQLite.
        services.AddDataProtection().SetApplicationName("amocrm-gateway");
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(keys =>
        {
            var database = sp.GetRequiredService<Database>();
            if (database.IsPostgres)
            {
                keys.XmlRepository = new DatabaseXmlRepository(database);
                return;
            }

            var dir = Path.Combine(sp.GetRequiredService<IOptions<GatewayOptions>>().Value.DataDirFullPath, "keys");
            DataDirectory.Ensure(Path.GetDirectoryName(dir)!);
            DataDirectory.Ensure(dir);
            keys.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(dir), sp.GetRequiredService<ILoggerFactory>());
        }));
        return services;
    }

    public static IServiceCollection AddGatewayFeatures(this IServiceCollection services)
    {
        services.AddGatewaySecurity();
        services.AddApiKeyAuthentication();
        services.AddAmo();
        services.AddSingleton<OAuthStateStore>();
        services.AddSingleton<AmoInfoCache>();
        services.AddOutbox();
        services.AddSingleton<TokenDiagnostics>();
        return services;
    }

    public static WebApplication UseGatewayPipeline(this WebApplication app)
    {
        // The real client address first (limits and logs read it), then the request id every answer carries.
        app.UseTrustedForwardedHeaders();
        app.UseRequestTelemetry();
        app.UseSecurityHeaders();
        app.UseEnvelopeErrors();
        app.UseTrailingSlashTolerance();
        // Authentication before the limiter and CORS: both depend on which key (if any) the request carries.
        app.UseAuthentication();
        app.UseInboundLimits();
        app.UseGatewayCors();
        app.UseRouting();
        app.UseRouteCapture();
        app.UseAuthorization();
        return app;
    }
}
