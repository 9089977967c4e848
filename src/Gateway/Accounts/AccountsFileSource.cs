using Gateway.Amo;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Accounts;

// ACCOUNTS_FILE (default DATA_DIR/accounts.json), re-read when it changes, like the keys file: adding an account needs
// no restart. A bad file at start-up stops the gateway naming the entry; a bad rewrite keeps the accounts in use.
internal sealed partial class AccountsFileSource : IAccountSource
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly string path;
    private readonly AmoAccount defaultAccount;
    private readonly TimeProvider time;
    private readonly ILogger<AccountsFileSource> logger;
    private readonly Lock gate = new();
    private volatile IReadOnlyList<AmoAccount> accounts;
    private FileStamp loaded;
    private FileStamp rejected;
    private long nextCheck;

    public AccountsFileSource(IOptions<AccountsOptions> options, IOptions<AmoOptions> amo, TimeProvider time, ILogger<AccountsFileSource> logger)
    {
        this.time = time;
        this.logger = logger;
        path = options.Value.File;
        defaultAccount = AmoAccount.FromOptions(amo.Value);
        loaded = FileStamp.Of(path);
        if (!loaded.Exists && options.Value.FileRequired)
        {
            throw new InvalidSettingException("ACCOUNTS_FILE", $"names {path}, which does not exist");
        }

        try
        {
            accounts = loaded.Exists ? Read() : [];
        }
        catch (Exception ex) when (ex is AccountsFileException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidSettingException("ACCOUNTS_FILE", $"{path}: {ex.Message}");
        }

        if (loaded.Exists)
        {
            LogLoaded();
        }

        nextCheck = time.GetTimestamp() + (long)(CheckInterval.TotalSeconds * time.TimestampFrequency);
    }

    public IReadOnlyList<AmoAccount> Current
    {
        get
        {
            ReloadIfChanged();
            return accounts;
        }
    }

    private IReadOnlyList<AmoAccount> Read() => AccountsFile.Parse(File.ReadAllText(path), defaultAccount, Path.GetDirectoryName(path)!);

    // At most one stat() per second, on the caller's path: no watcher thread to die silently.
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
            if (stamp == loaded || stamp == rejected)
            {
                return;
            }

            if (!stamp.Exists)
            {
                accounts = [];
                loaded = stamp;
                LogRemoved(path);
                return;
            }

            try
            {
                accounts = Read();
                loaded = stamp;
                LogLoaded();
            }
            catch (Exception ex) when (ex is AccountsFileException or IOException or UnauthorizedAccessException)
            {
                rejected = stamp;
                LogReloadFailed(path, ex.Message, accounts.Count);
            }
        }
        finally
        {
            gate.Exit();
        }
    }

    private void LogLoaded()
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            var domains = string.Join(", ", accounts.Select(a => a.Domain));
            LogLoaded(path, accounts.Count, domains);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Accounts file {Path} loaded: {Count} accounts besides AMO_DOMAIN ({Domains})")]
    private partial void LogLoaded(string path, int count, string domains);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Accounts file {Path} is gone: only AMO_DOMAIN's account is delivered to now (stored leads of the others are kept)")]
    private partial void LogRemoved(string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Accounts file {Path} was changed but cannot be used ({Problem}); the previous {Count} accounts stay in use until it is fixed")]
    private partial void LogReloadFailed(string path, string problem, int count);
}
