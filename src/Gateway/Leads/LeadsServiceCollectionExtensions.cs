using Gateway.Hosting;
using Gateway.Outbox;

namespace Gateway.Leads;

internal static class LeadsServiceCollectionExtensions
{
    public static IServiceCollection AddLeads(this IServiceCollection services)
    {
        services.AddFlatOptions<PhoneOptions, PhoneOptionsSetup, PhoneOptionsValidator>();
        services.AddSingleton<PhoneNumbers>();
        services.AddSingleton<LeadPreparation>();
        services.AddSingleton<LeadSearchIndex>();
        services.AddSingleton<LeadIntake>();
        services.AddSingleton<LeadFieldLookup>();
        services.AddSingleton<ILeadComposer, UnsortedLeadComposer>();
        return services;
    }
}
