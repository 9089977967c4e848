using Gateway.Hosting;

namespace Gateway.Accounts;

internal static class AccountsServiceCollectionExtensions
{
    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        services.AddFlatOptions<AccountsOptions, AccountsOptionsSetup, AccountsOptionsValidator>();
        services.AddSingleton<AccountsFileSource>();
        services.AddSingleton<IAccountSource>(sp => sp.GetRequiredService<AccountsFileSource>());
        services.AddSingleton<AccountRegistry>();
        return services;
    }
}
