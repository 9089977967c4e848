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
        return services;
    }
}
