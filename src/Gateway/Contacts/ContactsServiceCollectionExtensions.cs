using Gateway.Hosting;
using Gateway.Outbox;

namespace Gateway.Contacts;

internal static class ContactsServiceCollectionExtensions
{
    public static IServiceCollection AddContacts(this IServiceCollection services)
    {
        services.AddFlatOptions<ContactsOptions, ContactsOptionsSetup, ContactsOptionsValidator>();
        services.AddSingleton<ContactKeyStore>();
        services.AddSingleton<IDirectLeadSender, DirectLeadSender>();
        services.AddSingleton<TeamDirectory>();
        services.AddSingleton<AssignmentStore>();
        services.AddSingleton<LeadAssigner>();
        services.AddSingleton<FollowUpTaskSender>();
        services.AddSingleton<Outbox.IFollowUpTaskSender>(sp => sp.GetRequiredService<FollowUpTaskSender>());
        return services;
    }
}
