using System.Security.Cryptography;
using System.Text;
using Gateway.Accounts;

namespace Gateway.Amo.Tokens;

internal sealed record ImportResult(bool Imported, string Message);

// Migration from the PHP gateway: tokens.json is read when the store has nothing or the file changed since.
internal sealed partial class TokenImporter(TokenStore store, AmoTokenManager tokens, AccountRegistry registry, ILogger<TokenImporter> logger) : IDisposable
{
    // Every configured account's AMO_LONG_LIVED_TOKEN / TOKEN_STORAGE_PATH (or the entry's long_lived_token / tokens_file);
    // the message is the default account's.
    public async Task<ImportResult> ImportConfiguredAsync(CancellationToken cancellationToken)
    {
        ImportResult? first = null;
        foreach (var account in registry.All)
        {
            lock (imported)
            {
                imported.Add(account.Key);
            }

            var result = await ImportConfiguredAsync(account, cancellationToken);
            first ??= result;
        }

        return first!;
    }

    public async Task<ImportResult> ImportConfiguredAsync(AmoAccount amo, CancellationToken cancellationToken)
    {
        if (amo.LongLivedToken is { } longLived)
        {
            var current = await store.GetAsync(amo.Key, cancellationToken);
            if (current is { LongLived: true } && current.AccessToken == longLived)
            {
                return new ImportResult(false, "the long-lived token is already stored");
            }

            Jwt.TryReadExpiry(longLived, out var expiresAt);
            await tokens.StoreGrantAsync(amo.Key, new TokenPair(longLived, null, expiresAt, amo.Domain), true, "configured_long_lived", null, cancellationToken);
            LogImported(amo.Key, "AMO_LONG_LIVED_TOKEN");
            return new ImportResult(true, "long-lived token stored");
        }

        if (amo.TokenStoragePath is not { } path || !File.Exists(path))
        {
            return new ImportResult(false, "no tokens file");
        }

        return await ImportFileAsync(amo, path, force: false, cancellationToken);
    }

    private readonly HashSet<string> imported = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim importing = new(1, 1);

    public void Dispose() => importing.Dispose();

    // An account added to the accounts file while running gets its configured token as at start-up; asked by the
    // dispatcher before it looks at these accounts, so none of them is found "without a token" halfway through.
    public async Task ImportAddedAccountsAsync(IReadOnlyList<AmoAccount> accounts, CancellationToken cancellationToken)
    {
        await importing.WaitAsync(cancellationToken);
        try
        {
            foreach (var account in accounts)
            {
                bool known;
                lock (imported)
                {
                    known = imported.Contains(account.Key);
                }

                if (!known)
                {
                    await ImportConfiguredAsync(account, cancellationToken);
                    lock (imported)
                    {
                        imported.Add(account.Key);
                    }
                }
            }
        }
        finally
        {
            importing.Release();
        }
    }

    public Task<ImportResult> ImportFileAsync(string path, bool force, CancellationToken cancellationToken) =>
        ImportFileAsync(registry.Default, path, force, cancellationToken);

    public async Task<ImportResult> ImportFileAsync(AmoAccount amo, string path, bool force, CancellationToken cancellationToken)
    {
        var mtime = new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeMilliseconds();
        var current = await store.GetAsync(amo.Key, cancellationToken);
        if (!force && current is not null && current.ImportedFileMtime is { } imported && imported >= mtime)
        {
            return new ImportResult(false, "the tokens file has not changed since it was imported");
        }

        if (!force && current is not null && current.ImportedFileMtime is null)
        {
            // The database already has tokens of its own (consent or refresh); the old file is history unless forced.
            if (current.UpdatedAt.ToUnixTimeMilliseconds() >= mtime)
            {
                return new ImportResult(false, "the stored token is newer than the tokens file");
            }
        }

        if (!TokenFile.TryRead(await File.ReadAllTextAsync(path, cancellationToken), out var pair, out var problem))
        {
            LogUnreadable(path, problem!);
            return new ImportResult(false, $"the tokens file cannot be used: {problem}");
        }

        // The file's base_domain decides where the tokens (and at refresh the client secret) are sent.
        if (pair!.BaseDomain is { } baseDomain && AmoHosts.Refusal(baseDomain, amo.BaseUrl) is { } refusal)
        {
            LogUnreadable(path, $"base_domain refused: {refusal}");
            return new ImportResult(false, $"the tokens file's base_domain is refused: {refusal}");
        }

        // Another instance (or an earlier start) imported this very pair: a later copy of the file is not news.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(pair!.RefreshToken ?? pair.AccessToken)));
        if (!force && current?.ImportedTokenHash == hash)
        {
            return new ImportResult(false, "this pair was imported already; the stored token may have been rotated since");
        }

        var saved = await tokens.StoreGrantIfAsync(
            amo.Key,
            pair with { BaseDomain = pair.BaseDomain ?? amo.Domain, IssuedAt = pair.IssuedAt ?? DateTimeOffset.FromUnixTimeMilliseconds(mtime) },
            pair.RefreshToken is null,
            "imported",
            new TokenImport(mtime, hash),
            // Unless forced, only over the token this decision was made on: not over a rotation or import that won the lease.
            latest => force || latest?.Generation == current?.Generation,
            cancellationToken);
        if (saved is null)
        {
            return new ImportResult(false, "the stored token changed while the file was read; not imported");
        }

        LogImported(amo.Key, path);
        return new ImportResult(true, "tokens imported");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported amoCRM tokens for {Account} from {Source}")]
    private partial void LogImported(string account, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tokens file {Path} was not imported: {Problem}")]
    private partial void LogUnreadable(string path, string problem);
}
