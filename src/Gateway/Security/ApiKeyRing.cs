using System.Security.Cryptography;
using System.Text;
using Gateway.Accounts;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// API_KEY (named "default") plus the keys file, which is re-read when it changes: rotating a key needs no restart.
internal sealed partial class ApiKeyRing : IWatchedFileReader<IReadOnlyList<ApiKeyEntry>>
{
    private readonly ApiKeyEntry defaultKey;
    private readonly string path;
    private readonly AccountRegistry accounts;
    private readonly ILogger<ApiKeyRing> logger;
    private readonly WatchedFile<IReadOnlyList<ApiKeyEntry>> file;

    public ApiKeyRing(IOptions<GatewayOptions> gateway, IOptions<SecurityOptions> security, AccountRegistry accounts, TimeProvider time, ILogger<ApiKeyRing> logger)
    {
        this.logger = logger;
        defaultKey = new ApiKeyEntry(ApiKeyEntry.DefaultName, Hash(gateway.Value.ApiKey), null, null, new LeadDefaults(null, null, []), null, Scopes.Everything);
        path = security.Value.KeysFile;
        this.accounts = accounts;
        // A file refused for naming an account not configured yet is tried again once the accounts change.
        file = new WatchedFile<IReadOnlyList<ApiKeyEntry>>("API_KEYS_FILE", path, security.Value.KeysFileRequired, [], this, time, () => accounts.Version);
    }

    public string FilePath => path;

    public IReadOnlyList<ApiKeyEntry> FileKeys => file.Current;

    // Hashing first makes every comparison constant-time whatever the lengths; the scan does not stop at a match.
    public ApiKeyEntry? Find(string presented) => FindByHash(Hash(presented));

    // The key behind a digest (also the one an admin session remembers as the key that opened it); null once it is gone.
    public ApiKeyEntry? FindByHash(byte[] hash)
    {
        ApiKeyEntry? match = CryptographicOperations.FixedTimeEquals(hash, defaultKey.Hash) ? defaultKey : null;
        foreach (var key in FileKeys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                match ??= key;
            }
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
