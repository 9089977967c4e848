using Gateway.Hosting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;

namespace Gateway.Data;

internal static class DataServiceCollectionExtensions
{
    public static IServiceCollection AddData(this IServiceCollection services)
    {
        services.AddFlatOptions<DatabaseOptions, DatabaseOptionsSetup, DatabaseOptionsValidator>();
        services.AddSingleton<Database>();
        services.AddSingleton<Schema>();
        services.AddSingleton<LeaseStore>();
        services.AddHostedService<StartupTasks>();

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
}
