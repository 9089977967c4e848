using System.Data.Common;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Data;
using Gateway.Hosting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace Gateway.Accounts;

internal enum StoredAccountAdd
{
    Added,
    Exists,
}

// Accounts an admin added through /api/v1/admin/accounts (the console later), beside ACCOUNTS_FILE. Each is the
// entry the file would hold, stored encrypted. Every instance re-reads the table at most once a second on its callers'
// path, so an account added on one instance delivers from all of them; an account removed stops delivery everywhere
// and keeps its stored leads, like one taken out of the file.
internal sealed partial class StoredAccounts : IAccountSource, IDisposable
{
    private readonly Database database;
    private readonly IDataProtector protector;
    private readonly AmoAccount defaultAccount;
    private readonly string directory;
    private readonly TimeProvider time;
    private readonly ILogger<StoredAccounts> logger;
    private readonly StoredRows<IReadOnlyList<AmoAccount>> rows;

    // Read when first asked (the keys file naming an account at start-up), not on every start: a database that is away
    // is start-up's to report.
    private volatile HashSet<string>? domains;

    public StoredAccounts(Database database, IDataProtectionProvider protection, IOptions<AmoOptions> amo, IOptions<GatewayOptions> gateway, TimeProvider time, ILogger<StoredAccounts> logger)
    {
        this.database = database;
        protector = protection.CreateProtector("Gateway.Accounts.Stored.v1");
        defaultAccount = AmoAccount.FromOptions(amo.Value);
        directory = gateway.Value.DataDirFullPath;
        this.time = time;
        this.logger = logger;
        rows = new(database, "SELECT domain, entry, updated_at FROM stored_accounts ORDER BY created_at, domain", "Added accounts", [], Build, time, logger);
    }

    public IReadOnlyList<AmoAccount> Current => rows.Current;

    public void Dispose() => rows.Dispose();

    public bool Names(string domain) => rows.Current.Any(a => a.Domain == domain) || (domains ??= ReadDomains()).Contains(domain);

    // At start-up once the key ring is ready, then whenever a caller finds the list a second old.
    public Task LoadAsync(CancellationToken cancellationToken) => rows.LoadAsync(cancellationToken);

    private IReadOnlyList<AmoAccount> Build(IReadOnlyList<(string Key, string Text)> stored)
    {
        domains = stored.Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        return [.. stored.Select(r => Read(r.Key, r.Text)).OfType<AmoAccount>()];
    }

    // Checked as the accounts file checks an entry; a tokens_file is the file's alone (a path on this server is not
    // something to take from an HTTP body): a stored account is connected by consent.
    public AmoAccount Check(JsonNode? entry) => Parse(entry, defaultAccount, directory);

    private static AmoAccount Parse(JsonNode? entry, AmoAccount defaultAccount, string directory)
    {
        if (entry is JsonObject obj && obj.ContainsKey("tokens_file"))
        {
            throw new AccountsFileException("account.tokens_file is for ACCOUNTS_FILE only; connect an added account with /oauth/authorize?account=<domain>");
        }

        return AccountsFile.ParseEntry(entry, "account", defaultAccount, directory) with { Origin = "database" };
    }

    // The entry as Check read it into account.
    public async Task<StoredAccountAdd> AddAsync(JsonObject entry, AmoAccount account, CancellationToken cancellationToken)
    {
        var now = Sql.ToUnixMilliseconds(time.GetUtcNow());
        int added;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            added = await Sql.ExecuteAsync(
                connection,
                "INSERT INTO stored_accounts (domain, entry, created_at, updated_at) VALUES (@domain, @entry, @now, @now) ON CONFLICT (domain) DO NOTHING",
                null,
                [("domain", account.Domain), ("entry", protector.Protect(entry.ToJsonString())), ("now", now)],
                cancellationToken);
        }

        await LoadAsync(cancellationToken);
        return added == 1 ? StoredAccountAdd.Added : StoredAccountAdd.Exists;
    }

    public async Task<bool> RemoveAsync(string domain, CancellationToken cancellationToken)
    {
        int removed;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            removed = await Sql.ExecuteAsync(connection, "DELETE FROM stored_accounts WHERE domain = @domain", null, [("domain", domain)], cancellationToken);
        }

        await LoadAsync(cancellationToken);
        return removed == 1;
    }

    private AmoAccount? Read(string domain, string entry)
    {
        try
        {
            return Parse(JsonNode.Parse(protector.Unprotect(entry)), defaultAccount, directory);
        }
        catch (Exception ex) when (ex is CryptographicException or AccountsFileException or System.Text.Json.JsonException)
        {
            // One account that cannot be read (the key ring changed, or a later version is stricter) leaves the others be.
            LogUnreadable(domain, ex is CryptographicException ? "it cannot be decrypted (the key ring changed)" : ex.Message);
            return null;
        }
    }

    // Before the schema is migrated (the first start) the table is not there: nothing is stored yet.
    private HashSet<string> ReadDomains()
    {
        try
        {
            return ReadDomainsAsync().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            return new HashSet<string>(StringComparer.Ordinal);
        }
    }

    private async Task<HashSet<string>> ReadDomainsAsync()
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        var list = await Sql.QueryAsync(connection, "SELECT domain FROM stored_accounts", null, [], r => r.GetString(0), CancellationToken.None);
        return list.ToHashSet(StringComparer.Ordinal);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Added account {Domain} (stored in the database) is not delivered to: {Problem}. Remove it and add it again")]
    private partial void LogUnreadable(string domain, string problem);
}
