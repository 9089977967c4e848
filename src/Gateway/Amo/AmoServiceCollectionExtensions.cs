using Gateway.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace Gateway.Amo;

internal static class AmoServiceCollectionExtensions
{
    public static IServiceCollection AddAmo(this IServiceCollection services)
    {
        services.AddOptions<AmoOptions>().ValidateOnStart();
        services.AddSingleton<IConfigureOptions<AmoOptions>, AmoOptionsSetup>();
        services.AddSingleton<IValidateOptions<AmoOptions>, AmoOptionsValidator>();

        services.AddSingleton<TokenStore>();
        services.AddSingleton<TokenImporter>();
        services.AddSingleton<AmoRateLimiter>();
        services.AddSingleton<AmoTokenManager>();
        services.AddSingleton<TokenKeepAlive>();
        services.AddHostedService(sp => sp.GetRequiredService<TokenKeepAlive>());
        services.AddTransient<AmoAuthHandler>();

        services.AddHttpClient<AmoOAuthClient>(ConfigureTimeouts);
        services.AddHttpClient<AmoClient>((sp, http) =>
            {
                ConfigureTimeouts(sp, http);
                http.BaseAddress = AmoClient.PlaceholderBase;
            })
            .AddHttpMessageHandler<AmoAuthHandler>();
        return services;
    }

    private static void ConfigureTimeouts(IServiceProvider services, HttpClient http)
    {
        http.Timeout = services.GetRequiredService<IOptions<AmoOptions>>().Value.RequestTimeout;
        http.DefaultRequestHeaders.UserAgent.ParseAdd("amocrm-gateway/1.0");
    }

    // Token encryption keys live beside the data they protect, owner-only.
    public static IServiceCollection AddTokenProtection(this IServiceCollection services, string dataDir)
    {
        var keys = Path.Combine(dataDir, "keys");
        DataDirectory.Ensure(dataDir);
        DataDirectory.Ensure(keys);
        services.AddDataProtection()
            .SetApplicationName("amocrm-gateway")
            .PersistKeysToFileSystem(new DirectoryInfo(keys));
        return services;
    }
}
