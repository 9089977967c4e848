using Gateway.Hosting;
using Gateway.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
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

        // Keys beside the data they protect (KeyRing), encrypted with GATEWAY_ENCRYPTION_KEY when it is set.
        services.AddFlatOptions<EncryptionOptions, EncryptionOptionsSetup, EncryptionOptionsValidator>();
        services.AddSingleton<KeyRingEncryption>();
        services.AddSingleton<KeyRing>();
        services.AddSingleton<PersonalData>();
        services.AddDataProtection().SetApplicationName("amocrm-gateway");
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(keys =>
        {
            keys.XmlRepository = sp.GetRequiredService<KeyRing>().Repository;
            keys.XmlEncryptor = sp.GetRequiredService<KeyRingEncryption>().CreateEncryptor();
        }));
        return services;
    }
}
