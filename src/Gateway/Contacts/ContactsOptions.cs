using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Contacts;

internal sealed class ContactsOptions : FlatOptions
{
    // How long a learnt phone/email → contact id stays trusted without a search.
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromDays(30);
}

internal sealed class ContactsOptionsSetup(IConfiguration configuration) : IConfigureOptions<ContactsOptions>
{
    public void Configure(ContactsOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        if (env.TryGetInt("CONTACT_CACHE_TTL_DAYS", out var days)) options.CacheTtl = TimeSpan.FromDays(days);
    }
}

internal sealed class ContactsOptionsValidator : FlatOptionsValidator<ContactsOptions>
{
    protected override void Check(ContactsOptions options, List<string> failures)
    {
        if (options.CacheTtl < TimeSpan.Zero || options.CacheTtl > TimeSpan.FromDays(3650)) failures.Add("CONTACT_CACHE_TTL_DAYS must be between 0 (no cache) and 3650");
    }
}
