using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Tokens;

internal sealed record ImportResult(bool Imported, string Message);

// Migration from the PHP gateway: tokens.json is read when the store has nothing or the file changed since.
internal sealed partial class TokenImporter(TokenStore store, AmoTokenManager tokens, IOptions<AmoOptions> options, ILogger<TokenImporter> logger)
{
    public async Task<ImportResult> ImportConfiguredAsync(CancellationToken cancellationToken)
    {
        var amo = options.Value;
        if (amo.LongLivedToken is { } longLived)
        {
            var current = await store.GetAsync(amo.AccountKey, cancellationToken);
            if (current is { LongLived: true } && current.AccessToken == longLived)
            {
                return new ImportResult(false, "the long-lived token is already stored");
            }

            Jwt.TryReadExpiry(longLived, out var expiresAt);
            await tokens.StoreGrantAsync(amo.AccountKey, new TokenPair(longLived, null, expiresAt, amo.Domain), true, "configured_long_lived", null, cancellationToken);
            LogImported(amo.AccountKey, "AMO_LONG_LIVED_TOKEN");
            return new ImportResult(true, "long-lived token stored");
        }

        if (amo.TokenStoragePath is not { } path || !File.Exists(path))
        {
            return new ImportResult(false, "no tokens file");
        }

        return await ImportFileAsync(path, force: false, cancellationToken);
    }

    public async Task<ImportResult> ImportFileAsync(string path, bool force, CancellationToken cancellationToken)
    {
        var amo = options.Value;
        var mtime = new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeMilliseconds();
        var current = await store.GetAsync(amo.AccountKey, cancellationToken);
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
        if (pair!.BaseDomain is { } baseDomain && AmoHosts.Refusal(baseDomain, amo) is { } refusal)
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
            amo.AccountKey,
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

        LogImported(amo.AccountKey, path);
        return new ImportResult(true, "tokens imported");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported amoCRM tokens for {Account} from {Source}")]
    private partial void LogImported(string account, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tokens file {Path} was not imported: {Problem}")]
    private partial void LogUnreadable(string path, string problem);
}
