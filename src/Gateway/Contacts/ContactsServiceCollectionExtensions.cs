namespace Gateway.Contacts;

internal static class ContactsServiceCollectionExtensions
{
    public static IServiceCollection AddContacts(this IServiceCollection services)
    {
        services.AddSingleton<TeamDirectory>();
        services.AddSingleton<AssignmentStore>();
        services.AddSingleton<LeadAssigner>();
        services.AddSingleton<FollowUpTaskSender>();
        services.AddSingleton<Outbox.IFollowUpTaskSender>(sp => sp.GetRequiredService<FollowUpTaskSender>());
        return services;
    }
}
