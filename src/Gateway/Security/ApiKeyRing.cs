using System.Security.Cryptography;
using System.Text;
using Gateway.Accounts;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// API_KEY (named "default") plus the keys file, which is re-read when it changes: rotating a key needs no restart.
internal sealed partial class ApiKeyRing
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly ApiKeyEntry defaultKey;
    private readonly string path;
    private readonly AccountRegistry accounts;
    private readonly TimeProvider time;
    private readonly ILogger<ApiKeyRing> logger;
    private readonly Lock gate = new();
    private volatile IReadOnlyList<ApiKeyEntry> fileKeys;
    private FileStamp loaded;
    private FileStamp rejected;
    private int rejectedAt;
    private long nextCheck;

    public ApiKeyRing(IOptions<GatewayOptions> gateway, IOptions<SecurityOptions> security, AccountRegistry accounts, TimeProvider time, ILogger<ApiKeyRing> logger)
    {
        this.time = time;
        this.logger = logger;
        defaultKey = new ApiKeyEntry(ApiKeyEntry.DefaultName, Hash(gateway.Value.ApiKey), null, null, new LeadDefaults(null, null, []), null, Scopes.Everything);
        path = security.Value.KeysFile;
        this.accounts = accounts;
        loaded = FileStamp.Of(path);
        if (!loaded.Exists && security.Value.KeysFileRequired)
        {
            throw new InvalidSettingException("API_KEYS_FILE", $"names {path}, which does not exist");
        }

        try
        {
            fileKeys = loaded.Exists ? ApiKeysFile.Parse(File.ReadAllText(path), KnownAccount) : [];
        }
        catch (Exception ex) when (ex is ApiKeysFileException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidSettingException("API_KEYS_FILE", $"{path}: {ex.Message}");
        }

        if (loaded.Exists)
        {
            LogLoaded(fileKeys);
        }

        nextCheck = time.GetTimestamp() + (long)(CheckInterval.TotalSeconds * time.TimestampFrequency);
    }

    public string FilePath => path;

    public IReadOnlyList<ApiKeyEntry> FileKeys
    {
        get
        {
            ReloadIfChanged();
            return fileKeys;
        }
    }

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

    private string? KnownAccount(string domain) => accounts.Find(domain)?.Key;

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    // At most one stat() per second, on the request path: no watcher thread to die silently.
    private void ReloadIfChanged()
    {
        var now = time.GetTimestamp();
        if (now < Volatile.Read(ref nextCheck) || !gate.TryEnter())
        {
            return;
        }

        try
        {
            nextCheck = now + (long)(CheckInterval.TotalSeconds * time.TimestampFrequency);
            var stamp = FileStamp.Of(path);
            // A file refused for naming an account not configured yet is tried again once the accounts change.
            if (stamp == loaded || (stamp == rejected && rejectedAt == accounts.Version))
            {
                return;
            }

            if (!stamp.Exists)
            {
                fileKeys = [];
                loaded = stamp;
                LogRemoved(path);
                return;
            }

            try
            {
                rejectedAt = accounts.Version;
                fileKeys = ApiKeysFile.Parse(File.ReadAllText(path), KnownAccount);
                loaded = stamp;
                LogLoaded(fileKeys);
            }
            catch (Exception ex) when (ex is ApiKeysFileException or IOException or UnauthorizedAccessException)
            {
                rejected = stamp;
                LogReloadFailed(path, ex.Message, fileKeys.Count);
            }
        }
        finally
        {
            gate.Exit();
        }
    }

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
