using System.Security.Cryptography;
using System.Text;
using Gateway.Accounts;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// API_KEY (named "default") plus the keys file, which is re-read when it changes: rotating a key needs no restart;
// plus the keys an admin created in the console (StoredApiKeys). A file key's name wins over a stored key's.
internal sealed partial class ApiKeyRing : IWatchedFileReader<IReadOnlyList<ApiKeyEntry>>
{
    private readonly ApiKeyEntry defaultKey;
    private readonly string path;
    private readonly AccountRegistry accounts;
    private readonly ILogger<ApiKeyRing> logger;
    private readonly WatchedFile<IReadOnlyList<ApiKeyEntry>> file;
    private readonly StoredApiKeys stored;

    public ApiKeyRing(IOptions<GatewayOptions> gateway, IOptions<SecurityOptions> security, AccountRegistry accounts, StoredApiKeys stored, TimeProvider time, ILogger<ApiKeyRing> logger)
    {
        this.logger = logger;
        this.stored = stored;
        defaultKey = new ApiKeyEntry(ApiKeyEntry.DefaultName, Hash(gateway.Value.ApiKey), null, null, new LeadDefaults(null, null, []), null, Scopes.Everything) { Origin = "env" };
        path = security.Value.KeysFile;
        this.accounts = accounts;
        // A file refused for naming an account not configured yet is tried again once the accounts change.
        file = new WatchedFile<IReadOnlyList<ApiKeyEntry>>("API_KEYS_FILE", path, security.Value.KeysFileRequired, [], this, time, () => accounts.Version);
    }

    public string FilePath => path;

    public IReadOnlyList<ApiKeyEntry> FileKeys => file.Current;

    public ApiKeyEntry DefaultKey => defaultKey;

    // The console's keys whose names no file key has taken since.
    public IReadOnlyList<ApiKeyEntry> StoredKeys
    {
        get
        {
            var fromFile = FileKeys;
            var fromDatabase = stored.Current;
            return fromDatabase.Count == 0 ? fromDatabase : [.. fromDatabase.Where(k => !fromFile.Any(f => f.Name == k.Name))];
        }
    }

    // Every key but API_KEY: the file's, then the console's.
    public IEnumerable<ApiKeyEntry> Keys => FileKeys.Concat(StoredKeys);

    // Hashing first makes every comparison constant-time whatever the lengths; the scan does not stop at a match.
    public ApiKeyEntry? Find(string presented) => FindByHash(Hash(presented));

    // The key behind a digest (also the one an admin session remembers as the key that opened it); null once it is gone.
    public ApiKeyEntry? FindByHash(byte[] hash)
    {
        ApiKeyEntry? match = CryptographicOperations.FixedTimeEquals(hash, defaultKey.Hash) ? defaultKey : null;
        foreach (var key in Keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                match ??= key;
            }
        }

        if (match is { Origin: StoredApiKeys.Origin })
        {
            stored.Used(match);
        }

        return match;
    }

    private string? KnownAccount(string domain) => accounts.Known(domain);

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    IReadOnlyList<ApiKeyEntry> IWatchedFileReader<IReadOnlyList<ApiKeyEntry>>.Parse(string text) => ApiKeysFile.Parse(text, KnownAccount);

    bool IWatchedFileReader<IReadOnlyList<ApiKeyEntry>>.IsBadFile(Exception exception) => exception is ApiKeysFileException;

    void IWatchedFileReader<IReadOnlyList<ApiKeyEntry>>.Loaded(IReadOnlyList<ApiKeyEntry> value) => LogLoaded(value);

    void IWatchedFileReader<IReadOnlyList<ApiKeyEntry>>.Removed() => LogRemoved(path);

    void IWatchedFileReader<IReadOnlyList<ApiKeyEntry>>.ReloadFailed(string problem, IReadOnlyList<ApiKeyEntry> kept) => LogReloadFailed(path, problem, kept.Count);

    private void LogLoaded(IReadOnlyList<ApiKeyEntry> keys)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            var names = string.Join(", ", keys.Select(k => k.Name));
            LogLoaded(path, keys.Count, names);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "API keys file {Path} loaded: {Count} keys ({Names})")]
    private partial void LogLoaded(string path, int count, string names);

    [LoggerMessage(Level = LogLevel.Warning, Message = "API keys file {Path} is gone: only API_KEY is accepted now")]
    private partial void LogRemoved(string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "API keys file {Path} was changed but cannot be used ({Problem}); the previous {Count} keys stay in use until it is fixed")]
    private partial void LogReloadFailed(string path, string problem, int count);
}
