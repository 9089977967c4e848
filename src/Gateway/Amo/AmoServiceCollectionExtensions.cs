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
}
