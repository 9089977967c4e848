using Gateway.Amo.Consent;
using Gateway.Amo.Tokens;
using Gateway.Amo.Pacing;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Amo;

internal static class AmoServiceCollectionExtensions
{
    private static readonly TimeSpan MaxConnectTimeout = TimeSpan.FromSeconds(10);

    public static IServiceCollection AddAmo(this IServiceCollection services)
    {
        services.AddFlatOptions<AmoOptions, AmoOptionsSetup, AmoOptionsValidator>();

        services.AddSingleton<TokenStore>();
        services.AddSingleton<OAuthStateStore>();
        services.AddSingleton<AccountConnector>();
        services.AddSingleton<AmoInfoCache>();
        services.AddSingleton<TokenImporter>();
        services.AddKeyedSingleton(PacingClock.Key, TimeProvider.System);
        services.AddSingleton<AmoRateBudget>();
        services.AddSingleton<DeliveryDemand>();
        services.AddSingleton<AmoRateLimiter>();
        services.AddSingleton<AmoTokenManager>();
        services.AddSingleton<TokenKeepAlive>();
        services.AddHostedService(sp => sp.GetRequiredService<TokenKeepAlive>());
        services.AddTransient<AmoAuthHandler>();
        services.AddTransient<AmoPacingHandler>();

        services.AddHttpClient<AmoOAuthClient>(ConfigureTimeouts)
            .ConfigurePrimaryHttpMessageHandler(CreatePrimaryHandler)
            .AddHttpMessageHandler<Observability.AmoCallTelemetryHandler>();
        services.AddHttpClient<AmoClient>((sp, http) =>
            {
                ConfigureTimeouts(sp, http);

                // An outer bound only: each call's timeout starts in AmoPacingHandler once it holds its rate-limit slot.
                http.Timeout = http.Timeout * 3 + TimeSpan.FromSeconds(10);
                http.BaseAddress = AmoClient.PlaceholderBase;
            })
            .ConfigurePrimaryHttpMessageHandler(CreatePrimaryHandler)
            .AddHttpMessageHandler<AmoAuthHandler>()
            .AddHttpMessageHandler<AmoPacingHandler>()
            .AddHttpMessageHandler<Observability.AmoCallTelemetryHandler>();
        return services;
    }

    // Singletons hold these clients for the process's life, so pooled connections are recycled to pick up DNS changes;
    // a connect that never completes fails early, before anything could have been sent.
    private static SocketsHttpHandler CreatePrimaryHandler(IServiceProvider services)
    {
        var timeout = services.GetRequiredService<IOptions<AmoOptions>>().Value.RequestTimeout;
        return new SocketsHttpHandler
        {
            ConnectTimeout = timeout < MaxConnectTimeout ? timeout : MaxConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
    }

    private static void ConfigureTimeouts(IServiceProvider services, HttpClient http)
    {
        http.Timeout = services.GetRequiredService<IOptions<AmoOptions>>().Value.RequestTimeout;
        http.DefaultRequestHeaders.UserAgent.ParseAdd("amocrm-gateway/1.0");
    }
}
