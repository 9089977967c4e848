using Gateway.Hosting;

namespace Gateway.Accounts;

internal static class AccountsServiceCollectionExtensions
{
    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        services.AddFlatOptions<AccountsOptions, AccountsOptionsSetup, AccountsOptionsValidator>();
        services.AddSingleton<AccountsFileSource>();
        services.AddSingleton<IAccountSource>(sp => sp.GetRequiredService<AccountsFileSource>());
        // After the file: a domain in both is the file's.
        services.AddSingleton<StoredAccounts>();
        services.AddSingleton<IAccountSource>(sp => sp.GetRequiredService<StoredAccounts>());
        services.AddSingleton<AccountRegistry>();
        return services;
    }
}
