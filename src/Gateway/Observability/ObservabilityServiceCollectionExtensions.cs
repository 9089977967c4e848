using Gateway.Hosting;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Gateway.Observability;

internal static class ObservabilityServiceCollectionExtensions
{
    public static IServiceCollection AddObservability(this IServiceCollection services)
    {
        services.AddFlatOptions<ObservabilityOptions, ObservabilityOptionsSetup, ObservabilityOptionsValidator>();
        services.AddSingleton<ConsoleLoggingSetup>();
        services.AddSingleton<IConfigureOptions<ConsoleLoggerOptions>>(sp => sp.GetRequiredService<ConsoleLoggingSetup>());
        services.AddSingleton<IConfigureOptions<JsonConsoleFormatterOptions>>(sp => sp.GetRequiredService<ConsoleLoggingSetup>());
        services.AddSingleton<IConfigureOptions<SimpleConsoleFormatterOptions>>(sp => sp.GetRequiredService<ConsoleLoggingSetup>());
        services.AddSingleton<IConfigureOptions<LoggerFilterOptions>>(sp => sp.GetRequiredService<ConsoleLoggingSetup>());

        // The host's console provider, rebuilt with GatewayConsoleFormatter beside the built-in formatters.
        if (services.FirstOrDefault(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider)) is { } console)
        {
            services.Remove(console);
            services.AddSingleton<ILoggerProvider, ConsoleLoggerProvider>(sp => new ConsoleLoggerProvider(
                sp.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>(),
                GatewayConsoleFormatter.Around(sp.GetServices<ConsoleFormatter>(), sp.GetRequiredService<IOptions<ObservabilityOptions>>())));
        }

        services.AddSingleton<GatewayMetrics>();
        services.AddTransient<AmoCallTelemetryHandler>();
        return services;
    }
}
