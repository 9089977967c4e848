using Gateway.Amo;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Accounts;

// ACCOUNTS_FILE (default DATA_DIR/accounts.json), re-read when it changes, like the keys file: adding an account needs
// no restart. A bad file at start-up stops the gateway naming the entry; a bad rewrite keeps the accounts in use.
internal sealed partial class AccountsFileSource : IAccountSource, IWatchedFileReader<IReadOnlyList<AmoAccount>>
{
    private readonly string path;
    private readonly AmoAccount defaultAccount;
    private readonly ILogger<AccountsFileSource> logger;
    private readonly WatchedFile<IReadOnlyList<AmoAccount>> file;

    public AccountsFileSource(IOptions<AccountsOptions> options, IOptions<AmoOptions> amo, TimeProvider time, ILogger<AccountsFileSource> logger)
    {
        this.logger = logger;
        path = options.Value.File;
        defaultAccount = AmoAccount.FromOptions(amo.Value);
        file = new WatchedFile<IReadOnlyList<AmoAccount>>("ACCOUNTS_FILE", path, options.Value.FileRequired, [], this, time);
    }

    public IReadOnlyList<AmoAccount> Current => file.Current;

    IReadOnlyList<AmoAccount> IWatchedFileReader<IReadOnlyList<AmoAccount>>.Parse(string text) => AccountsFile.Parse(text, defaultAccount, Path.GetDirectoryName(path)!);

    bool IWatchedFileReader<IReadOnlyList<AmoAccount>>.IsBadFile(Exception exception) => exception is AccountsFileException;

    void IWatchedFileReader<IReadOnlyList<AmoAccount>>.Loaded(IReadOnlyList<AmoAccount> value) => LogLoaded(value);

    void IWatchedFileReader<IReadOnlyList<AmoAccount>>.Removed() => LogRemoved(path);

    void IWatchedFileReader<IReadOnlyList<AmoAccount>>.ReloadFailed(string problem, IReadOnlyList<AmoAccount> kept) => LogReloadFailed(path, problem, kept.Count);

    private void LogLoaded(IReadOnlyList<AmoAccount> accounts)
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
