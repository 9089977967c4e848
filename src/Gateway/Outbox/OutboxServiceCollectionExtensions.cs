using Gateway.Hosting;

namespace Gateway.Outbox;

internal static class OutboxServiceCollectionExtensions
{
    public static IServiceCollection AddOutbox(this IServiceCollection services)
    {
        services.AddFlatOptions<OutboxOptions, OutboxOptionsSetup, OutboxOptionsValidator>();
        services.AddSingleton<LeadStore>();
        services.AddSingleton<NoteStore>();
        services.AddSingleton<TaskStore>();
        services.AddSingleton<AccountDeliveryStore>();
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<LeadOutcomes>();
        services.AddSingleton<AccountDeliveryState>();
        services.AddSingleton<LostAnswerLookup>();
        services.AddSingleton<LeadCallStore>();
        services.AddSingleton<LeadDelivery>();
        services.AddSingleton<DirectStepStore>();
        services.AddSingleton<IntakeWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<IntakeWriter>());
        // Hosted services stop in reverse order: the relay outlives the dispatcher and announces what it settles while stopping.
        services.AddSingleton<ClusterOutcomeRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterOutcomeRelay>());
        services.AddSingleton<OutboxDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxDispatcher>());
        return services;
    }
}
