using Gateway.Hosting;

namespace Gateway.Sources;

internal static class SourcesServiceCollectionExtensions
{
    public static IServiceCollection AddSources(this IServiceCollection services)
    {
        services.AddFlatOptions<SourcesOptions, SourcesOptionsSetup, SourcesOptionsValidator>();
        services.AddSingleton<StoredSourceProfiles>();
        services.AddSingleton<SourceProfiles>();
        services.AddSingleton<SubmissionWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<SubmissionWriter>());
        services.AddSingleton<SubmissionStore>();
        services.AddSingleton<SubmissionIntake>();
        return services;
    }
}
