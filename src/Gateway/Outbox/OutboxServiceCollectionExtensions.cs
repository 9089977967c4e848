using Microsoft.Extensions.Options;

namespace Gateway.Outbox;

internal static class OutboxServiceCollectionExtensions
{
    public static IServiceCollection AddOutbox(this IServiceCollection services)
    {
        services.AddOptions<OutboxOptions>().ValidateOnStart();
        services.AddSingleton<IConfigureOptions<OutboxOptions>, OutboxOptionsSetup>();
        services.AddSingleton<IValidateOptions<OutboxOptions>, OutboxOptionsValidator>();
        services.AddSingleton<LeadStore>();
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<LeadOutcomes>();
        services.AddSingleton<AccountDeliveryState>();
        services.AddSingleton<LeadDelivery>();
        services.AddSingleton<LeadIntake>();
        services.AddSingleton<IntakeWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<IntakeWriter>());
        services.AddSingleton<OutboxDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxDispatcher>());
        services.AddHostedService<ClusterOutcomeRelay>();
        return services;
    }
}
