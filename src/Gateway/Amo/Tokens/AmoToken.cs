namespace Gateway.Amo.Tokens;

internal static class TokenStates
{
    public const string Active = "active";
    public const string ReauthorizationRequired = "reauthorization_required";
}

internal sealed record AmoToken(
    string Account,
    string AccessToken,
    string? RefreshToken,
    DateTimeOffset ExpiresAt,
    string? BaseDomain,
    bool LongLived,
    long Generation,
    DateTimeOffset RefreshTokenIssuedAt,
    DateTimeOffset UpdatedAt,
    string State,
    string? StateReason,
    DateTimeOffset? LastRefreshAt,
    string? LastRefreshOutcome,
    DateTimeOffset? RefreshStartedAt,
    DateTimeOffset? NextRefreshAttemptAt,
    int FailedRefreshes,
    long? ImportedFileMtime,
    bool Undecryptable = false,
    string? ImportedTokenHash = null,
    long? AmoAccountId = null)
{
    public bool IsExpired(DateTimeOffset now) => ExpiresAt <= now;
}

// What a token endpoint or an import hands over; saved before anything uses it. IssuedAt: when the refresh token was
// issued, if older than now (an imported file's).
// Which file, and which pair in it, a saved token came from: an instance with a later copy of the same file must not
// bring back a pair the cluster has rotated since.
internal sealed record TokenImport(long FileMtime, string TokenHash);

// AmoAccountId: amoCRM's id of the account the pair belongs to, when /api/v4/account has confirmed it.
internal sealed record TokenPair(string AccessToken, string? RefreshToken, DateTimeOffset ExpiresAt, string? BaseDomain, DateTimeOffset? IssuedAt = null, long? AmoAccountId = null);
