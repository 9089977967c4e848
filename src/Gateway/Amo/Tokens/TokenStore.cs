using System.Security.Cryptography;
using Dapper;
using Gateway.Data;
using Microsoft.AspNetCore.DataProtection;

namespace Gateway.Amo.Tokens;

// Tokens per account, encrypted at rest. Failure and marker writes are conditional on the generation the writer read;
// new pairs are saved under the account's refresh gate and lease (AmoTokenManager), never beside a refresh.
internal sealed class TokenStore(Database database, IDataProtectionProvider protection, TimeProvider time)
{
    // In the order of Row's constructor: Dapper matches them by position and name.
    private const string Columns = "account, access_token, refresh_token, expires_at, base_domain, long_lived, generation, refresh_token_issued_at, updated_at, state, state_reason, last_refresh_at, last_refresh_outcome, refresh_started_at, next_refresh_attempt_at, failed_refreshes, imported_file_mtime, imported_token_hash";

    private const string UndecryptableReason = "the stored token cannot be decrypted (the encryption key ring, DATA_DIR/keys or the database's data_protection_keys, changed); re-authorize";

    private readonly IDataProtector protector = protection.CreateProtector("Gateway.Amo.Tokens.v1");

    // Decryption happens after the connection is back in the pool: a key-ring read needs a connection of its own.
    public async Task<AmoToken?> GetAsync(string account, CancellationToken cancellationToken)
    {
        Row? row;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            row = await connection.QuerySingleOrDefaultAsync<Row>(
                "SELECT " + Columns + " FROM amo_tokens WHERE account = @account", new { account });
        }

        return row is null ? null : ToToken(row);
    }

    public async Task<bool> CanDeliverAsync(string account, CancellationToken cancellationToken) =>
        TokenStatus.CanDeliver(await GetAsync(account, cancellationToken), time.GetUtcNow());

    // The accounts that hold a token, read without decrypting any: the outbox's wake-up asks this on every pass.
    public async Task<IReadOnlyList<string>> AccountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<string>("SELECT account FROM amo_tokens ORDER BY account")).ToList();
    }

    public async Task<IReadOnlyList<AmoToken>> ListAsync(CancellationToken cancellationToken)
    {
        List<Row> rows;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            rows = (await connection.QueryAsync<Row>("SELECT " + Columns + " FROM amo_tokens ORDER BY account")).ToList();
        }

        return rows.Select(ToToken).ToList();
    }

    // A fresh pair from consent, import or refresh: the account is healthy again whatever it was.
    public async Task<AmoToken> SaveAsync(string account, TokenPair pair, bool longLived, string outcome, bool isRefresh, TokenImport? import, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var access = protector.Protect(pair.AccessToken);
        var refresh = pair.RefreshToken is null ? null : protector.Protect(pair.RefreshToken);
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO amo_tokens (account, access_token, refresh_token, expires_at, base_domain, long_lived, generation,
                    refresh_token_issued_at, updated_at, state, state_reason, last_refresh_at, last_refresh_outcome,
                    refresh_started_at, next_refresh_attempt_at, failed_refreshes, imported_file_mtime, imported_token_hash)
                VALUES (@account, @access, @refresh, @expires, @domain, @longLived, 1, @issued, @now, @active, NULL,
                    @lastRefreshAt, @outcome, NULL, NULL, 0, @mtime, @importHash)
                ON CONFLICT (account) DO UPDATE SET
                    access_token = excluded.access_token, refresh_token = excluded.refresh_token,
                    expires_at = excluded.expires_at, base_domain = COALESCE(excluded.base_domain, amo_tokens.base_domain),
                    long_lived = excluded.long_lived, generation = amo_tokens.generation + 1,
                    refresh_token_issued_at = excluded.refresh_token_issued_at, updated_at = excluded.updated_at,
                    state = @active, state_reason = NULL,
                    last_refresh_at = COALESCE(excluded.last_refresh_at, amo_tokens.last_refresh_at),
                    last_refresh_outcome = excluded.last_refresh_outcome,
                    refresh_started_at = NULL, next_refresh_attempt_at = NULL, failed_refreshes = 0,
                    imported_file_mtime = COALESCE(excluded.imported_file_mtime, amo_tokens.imported_file_mtime),
                    imported_token_hash = COALESCE(excluded.imported_token_hash, amo_tokens.imported_token_hash)
                """,
                new
                {
                    account,
                    active = TokenStates.Active,
                    access,
                    refresh,
                    expires = pair.ExpiresAt.ToUnixTimeMilliseconds(),
                    domain = pair.BaseDomain,
                    longLived = longLived ? 1 : 0,
                    now,
                    // A token from an old file is as old as the file says (so keep-alive rotates it soon), never newer than now.
                    issued = Math.Min(pair.IssuedAt?.ToUnixTimeMilliseconds() ?? now, now),
                    lastRefreshAt = isRefresh ? now : (long?)null,
                    outcome,
                    mtime = import?.FileMtime,
                    importHash = import?.TokenHash,
                });
        }

        return (await GetAsync(account, cancellationToken))!;
    }

    // Written before the refresh call: if the process dies mid-call, the next reader knows the token may be spent.
    // False when the row is no longer as the caller read it: another writer saved a pair or started a refresh.
    public async Task<bool> MarkRefreshStartedAsync(string account, long generation, DateTimeOffset? startedAtAsRead, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(
            """
            UPDATE amo_tokens SET refresh_started_at = @now
            WHERE account = @account AND generation = @generation
                AND (refresh_started_at = @startedAt OR (refresh_started_at IS NULL AND @startedAt IS NULL))
            """,
            new { account, generation, startedAt = startedAtAsRead?.ToUnixTimeMilliseconds(), now = time.GetUtcNow().ToUnixTimeMilliseconds() }) == 1;
    }

    public async Task RecordRefreshFailureAsync(string account, long generation, string outcome, string? reauthorizationReason, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(
            """
            UPDATE amo_tokens SET
                refresh_started_at = NULL,
                last_refresh_at = @now,
                last_refresh_outcome = @outcome,
                failed_refreshes = failed_refreshes + 1,
                next_refresh_attempt_at = @next,
                state = CASE WHEN @reason IS NULL THEN state ELSE @reauthorizationRequired END,
                state_reason = COALESCE(@reason, state_reason)
            WHERE account = @account AND generation = @generation
            """,
            new { account, generation, outcome, reason = reauthorizationReason, reauthorizationRequired = TokenStates.ReauthorizationRequired, next = nextAttemptAt?.ToUnixTimeMilliseconds(), now = time.GetUtcNow().ToUnixTimeMilliseconds() });
    }

    private AmoToken ToToken(Row row)
    {
        try
        {
            return ToToken(row, protector.Unprotect(row.access_token), row.refresh_token is null ? null : protector.Unprotect(row.refresh_token));
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            // Nothing can be done with the row but a new consent, which overwrites it; throwing would turn every read into a 500.
            return ToToken(row, "", null) with { State = TokenStates.ReauthorizationRequired, StateReason = UndecryptableReason, Undecryptable = true };
        }
    }

    private static AmoToken ToToken(Row row, string accessToken, string? refreshToken) => new(
        row.account,
        accessToken,
        refreshToken,
        FromMs(row.expires_at),
        row.base_domain,
        row.long_lived != 0,
        row.generation,
        FromMs(row.refresh_token_issued_at),
        FromMs(row.updated_at),
        row.state,
        row.state_reason,
        FromMsOrNull(row.last_refresh_at),
        row.last_refresh_outcome,
        FromMsOrNull(row.refresh_started_at),
        FromMsOrNull(row.next_refresh_attempt_at),
        (int)row.failed_refreshes,
        row.imported_file_mtime,
        ImportedTokenHash: row.imported_token_hash);

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static DateTimeOffset? FromMsOrNull(long? ms) => ms is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(ms.Value);

#pragma warning disable IDE1006, CA1812 // column names, materialised by Dapper
    private sealed record Row(
        string account, string access_token, string? refresh_token, long expires_at, string? base_domain, long long_lived,
        long generation, long refresh_token_issued_at, long updated_at, string state, string? state_reason, long? last_refresh_at,
        string? last_refresh_outcome, long? refresh_started_at, long? next_refresh_attempt_at, long failed_refreshes, long? imported_file_mtime, string? imported_token_hash);
#pragma warning restore IDE1006, CA1812
}
