using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Accounts;

internal sealed class AccountsOptions : FlatOptions
{
    public const string SectionName = "Accounts";
    public const string DefaultFileName = "accounts.json";

    public string File { get; set; } = "";

    // Named explicitly (ACCOUNTS_FILE): it must exist. The default DATA_DIR/accounts.json is read only if present.
    public bool FileRequired { get; set; }
}

internal sealed class AccountsOptionsSetup(IConfiguration configuration, IOptions<GatewayOptions> gateway) : IConfigureOptions<AccountsOptions>
{
    public void Configure(AccountsOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        if (env.Get("ACCOUNTS_FILE") is { } file)
        {
            options.File = Path.GetFullPath(file);
            options.FileRequired = true;
        }
        else
        {
            options.File = Path.Combine(gateway.Value.DataDirFullPath, AccountsOptions.DefaultFileName);
        }
    }
}

internal sealed class AccountsOptionsValidator : FlatOptionsValidator<AccountsOptions>
{
    protected override void Check(AccountsOptions options, List<string> failures)
    {
    }
}
