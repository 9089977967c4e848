using Gateway.Hosting;
using Gateway.Outbox;

namespace Gateway.Events;

internal static class EventsServiceCollectionExtensions
{
    public static IServiceCollection AddEvents(this IServiceCollection services)
    {
        services.AddFlatOptions<EventsOptions, EventsOptionsSetup, EventsOptionsValidator>();
        services.AddSingleton<EventStore>();
        services.AddSingleton<EventSignal>();
        services.AddSingleton<SubscriptionRegistry>();
        services.AddSingleton<EventSink>();
        services.AddSingleton<IGatewayEvents>(sp => sp.GetRequiredService<EventSink>());
        services.AddSingleton<ILeadSettlementSink, LeadOutcomeEvents>();
        services.AddSingleton<WebhookSecretStore>();
        services.AddSingleton<TelegramClient>();
        services.AddSingleton<TelegramPacer>();
        services.AddSingleton<TelegramClusterPace>();
        services.AddSingleton<EventDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<EventDispatcher>());
        services.AddHostedService<AccountWatch>();
        services.AddHostedService<OwedEventsSweep>();
        return services;
    }
}
