using Gateway.Outbox;

namespace Gateway.AdminConsole;

internal static class ConsoleServiceCollectionExtensions
{
    public static IServiceCollection AddConsole(this IServiceCollection services)
    {
        services.AddSingleton<ConsoleAssets>();
        services.AddSingleton<ConsoleLanguage>();
        services.AddSingleton<LeadActivityStore>();
        services.AddSingleton<AccountTimeZones>();
        return services;
    }
}
