using Gateway.Hosting;
using Gateway.Security;

namespace Gateway.Accounts;

// Which account a request acts on. A key bound to an account ("account" in the keys file) acts on that one only;
// API_KEY, keys without an account and admin sessions act on the default account, and an admin not bound to an account
// may name another with ?account=<domain>. Anything else (another account, one not configured) is a 404: a key never
// learns which other accounts exist.
internal static class CallerAccount
{
    public const string QueryName = "account";

    public static AmoAccount? Of(HttpContext context, AccountRegistry registry)
    {
        var bound = ApiKeyCaller.Get(context)?.Account;
        var asked = context.Request.Query[QueryName].ToString() is { Length: > 0 } named ? Amo.AmoOptionsSetup.NormalizeHost(named) : null;
        if (bound is not null)
        {
            var own = Amo.AmoOptionsSetup.NormalizeHost(bound);
            return asked is null || asked == own ? registry.Find(own) : null;
        }

        if (asked is null)
        {
            return registry.Default;
        }

        return Scopes.IsAdmin(context) || asked == registry.Default.Key ? registry.Find(asked) : null;
    }

    // May this caller see the account at all (a lead of it, its row in a list)?
    public static bool MaySee(HttpContext context, string account)
    {
        var bound = ApiKeyCaller.Get(context)?.Account;
        return bound is null ? true : string.Equals(Amo.AmoOptionsSetup.NormalizeHost(bound), account, StringComparison.Ordinal);
    }

    public static IResult NotFound() => Envelope.Fail(StatusCodes.Status404NotFound, "Account not found");
}
