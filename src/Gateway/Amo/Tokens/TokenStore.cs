using System.Data.Common;
using System.Security.Cryptography;
using Gateway.Data;
using Microsoft.AspNetCore.DataProtection;

namespace Gateway.Amo.Tokens;

// Tokens per account, encrypted at rest. Failure and marker writes are conditional on the generation the writer read;
// new pairs are saved under the account's refresh gate and lease (AmoTokenManager), never beside a refresh.
internal sealed class TokenStore(Database database, IDataProtectionProvider protection, TimeProvider time)
{
    // What Row.Read reads.
    private const string Columns = "account, access_token, refresh_token, expires_at, base_domain, long_lived, generation, refresh_token_issued_at, updated_at, state, state_reason, last_refresh_at, last_refresh_outcome, refresh_started_at, next_refresh_attempt_at, failed_refreshes, imported_file_mtime, imported_token_hash, amo_account_id";

    private const string UndecryptableReason = "the stored token cannot be decrypted (the encryption key ring, DATA_DIR/keys or the database's data_protection_keys, changed); re-authorize";

    private readonly IDataProtector protector = protection.CreateProtector("Gateway.Amo.Tokens.v1");

    // Decryption happens after the connection is back in the pool: a key-ring read needs a connection of its own.
    public async Task<AmoToken?> GetAsync(string account, CancellationToken cancellationToken)
    {
        Row? row;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            row = await Sql.QuerySingleOrDefaultAsync(
                connection, "SELECT " + Columns + " FROM amo_tokens WHERE account = @account", null, [("account", account)], Row.Read, cancellationToken);
        }

        return row is null ? null : ToToken(row);
    }

    public async Task<bool> CanDeliverAsync(string account, CancellationToken cancellationToken) =>
        TokenStatus.CanDeliver(await GetAsync(account, cancellationToken), time.GetUtcNow());

    // The accounts that hold a token, read without decrypting any: the outbox's wake-up asks this on every pass.
    public async Task<IReadOnlyList<string>> AccountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.QueryAsync(connection, "SELECT account FROM amo_tokens ORDER BY account", null, [], reader => reader.GetString(0), cancellationToken);
    }

    public async Task<IReadOnlyList<AmoToken>> ListAsync(CancellationToken cancellationToken)
    {
        List<Row> rows;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            rows = await Sql.QueryAsync(connection, "SELECT " + Columns + " FROM amo_tokens ORDER BY account", null, [], Row.Read, cancellationToken);
        }

        return rows.Select(ToToken).ToList();
    }

    // A fresh pair from consent, import or refresh: the account is healthy again whatever it was.
    public async Task<AmoToken> SaveAsync(string account, TokenPair pair, bool longLived, string outcome, bool isRefresh, TokenImport? import, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var access = protector.Protect(pair.AccessToken);
        var refresh = pair.RefreshToken is null ? null : protector.Protect(pair.RefreshToken);
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await Sql.ExecuteAsync(
                connection,
                """
                INSERT INTO amo_tokens (account, access_token, refresh_token, expires_at, base_domain, long_lived, generation,
                    refresh_token_issued_at, updated_at, state, state_reason, last_refresh_at, last_refresh_outcome,
                    refresh_started_at, next_refresh_attempt_at, failed_refreshes, imported_file_mtime, imported_token_hash, amo_account_id)
                VALUES (@account, @access, @refresh, @expires, @domain, @longLived, 1, @issued, @now, @active, NULL,
                    @lastRefreshAt, @outcome, NULL, NULL, 0, @mtime, @importHash, @amoAccountId)
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
                    imported_token_hash = COALESCE(excluded.imported_token_hash, amo_tokens.imported_token_hash),
                    amo_account_id = COALESCE(amo_tokens.amo_account_id, excluded.amo_account_id)
                """,
                null,
                [
                    ("account", account),
                    ("active", TokenStates.Active),
                    ("access", access),
                    ("refresh", refresh),
                    ("expires", pair.ExpiresAt),
                    ("domain", pair.BaseDomain),
                    ("longLived", longLived ? 1 : 0),
                    ("now", now),
                    // A token from an old file is as old as the file says (so keep-alive rotates it soon), never newer than now.
                    ("issued", pair.IssuedAt is { } issued && issued < now ? issued : now),
                    ("lastRefreshAt", isRefresh ? now : (DateTimeOffset?)null),
                    ("outcome", outcome),
                    ("mtime", import?.FileMtime),
                    ("importHash", import?.TokenHash),
                    ("amoAccountId", pair.AmoAccountId),
                ],
                cancellationToken);
        }

        return (await GetAsync(account, cancellationToken))!;
    }

    // The first account id learned for an account's token stays: a later pair is compared with it, never overrides it.
    public async Task RecordAmoAccountIdAsync(string account, long amoAccountId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            "UPDATE amo_tokens SET amo_account_id = @id WHERE account = @account AND amo_account_id IS NULL",
            null,
            [("id", amoAccountId), ("account", account)],
            cancellationToken);
    }

    // Written before the refresh call: if the process dies mid-call, the next reader knows the token may be spent.
    // False when the row is no longer as the caller read it: another writer saved a pair or started a refresh.
    public async Task<bool> MarkRefreshStartedAsync(string account, long generation, DateTimeOffset? startedAtAsRead, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await Sql.ExecuteAsync(
            connection,
            """
            UPDATE amo_tokens SET refresh_started_at = @now
            WHERE account = @account AND generation = @generation
                AND (refresh_started_at = @startedAt OR (refresh_started_at IS NULL AND @startedAt IS NULL))
            """,
            null,
            [("now", time.GetUtcNow()), ("account", account), ("generation", generation), ("startedAt", startedAtAsRead)],
            cancellationToken) == 1;
    }

    public async Task RecordRefreshFailureAsync(string account, long generation, string outcome, string? reauthorizationReason, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
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
            null,
            [
                ("now", time.GetUtcNow()), ("outcome", outcome), ("next", nextAttemptAt), ("reason", reauthorizationReason),
                ("reauthorizationRequired", TokenStates.ReauthorizationRequired), ("account", account), ("generation", generation),
            ],
            cancellationToken);
    }

    private AmoToken ToToken(Row row)
    {
        try
        {
            return ToToken(row, protector.Unprotect(row.AccessToken), row.RefreshToken is null ? null : protector.Unprotect(row.RefreshToken));
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            // Nothing can be done with the row but a new consent, which overwrites it; throwing would turn every read into a 500.
            return ToToken(row, "", null) with { State = TokenStates.ReauthorizationRequired, StateReason = UndecryptableReason, Undecryptable = true };
        }
    }

    private static AmoToken ToToken(Row row, string accessToken, string? refreshToken) => new(
        row.Account,
        accessToken,
        refreshToken,
        row.ExpiresAt,
        row.BaseDomain,
        row.LongLived,
        row.Generation,
        row.RefreshTokenIssuedAt,
        row.UpdatedAt,
        row.State,
        row.StateReason,
        row.LastRefreshAt,
        row.LastRefreshOutcome,
        row.RefreshStartedAt,
        row.NextRefreshAttemptAt,
        row.FailedRefreshes,
        row.ImportedFileMtime,
        ImportedTokenHash: row.ImportedTokenHash,
        AmoAccountId: row.AmoAccountId);

    // A stored row, tokens still encrypted.
    private sealed record Row(
        string Account, string AccessToken, string? RefreshToken, DateTimeOffset ExpiresAt, string? BaseDomain, bool LongLived,
        long Generation, DateTimeOffset RefreshTokenIssuedAt, DateTimeOffset UpdatedAt, string State, string? StateReason, DateTimeOffset? LastRefreshAt,
        string? LastRefreshOutcome, DateTimeOffset? RefreshStartedAt, DateTimeOffset? NextRefreshAttemptAt, int FailedRefreshes, long? ImportedFileMtime, string? ImportedTokenHash,
        long? AmoAccountId)
    {
        public static Row Read(DbDataReader reader) => new(
            reader.String("account"),
            reader.String("access_token"),
            reader.StringOrNull("refresh_token"),
            reader.Time("expires_at"),
            reader.StringOrNull("base_domain"),
            reader.Int64("long_lived") != 0,
            reader.Int64("generation"),
            reader.Time("refresh_token_issued_at"),
            reader.Time("updated_at"),
            reader.String("state"),
            reader.StringOrNull("state_reason"),
            reader.TimeOrNull("last_refresh_at"),
            reader.StringOrNull("last_refresh_outcome"),
            reader.TimeOrNull("refresh_started_at"),
            reader.TimeOrNull("next_refresh_attempt_at"),
            (int)reader.Int64("failed_refreshes"),
            reader.Int64OrNull("imported_file_mtime"),
            reader.StringOrNull("imported_token_hash"),
            reader.Int64OrNull("amo_account_id"));
    }
}
