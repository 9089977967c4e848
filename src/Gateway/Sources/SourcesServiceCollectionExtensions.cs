using Gateway.Hosting;

namespace Gateway.Sources;

internal static class SourcesServiceCollectionExtensions
{
    public static IServiceCollection AddSources(this IServiceCollection services)
    {
        services.AddFlatOptions<SourcesOptions, SourcesOptionsSetup, SourcesOptionsValidator>();
        services.AddSingleton<SourceProfiles>();
        services.AddSingleton<SubmissionStore>();
        services.AddSingleton<SubmissionIntake>();
        return services;
    }
}
