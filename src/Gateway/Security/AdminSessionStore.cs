using System.Buffers.Text;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Gateway.Data;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// Admin sessions live in the database, keyed by a digest of the cookie: signing out revokes on every instance, and a
// copy of the database holds no cookie anyone could present.
internal sealed class AdminSessionStore(Database database, TimeProvider time, IOptions<AdminSessionOptions> options)
{
    public const int MaxLiveSessions = 100;
    public const int CookieBytes = 32;

    // A session in use writes at most once a minute, not on every request.
    public static readonly TimeSpan TouchEvery = TimeSpan.FromMinutes(1);

    public async Task<string> OpenAsync(string admin, string method, byte[]? keyHash, CancellationToken cancellationToken)
    {
        var cookie = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(CookieBytes));
        var now = time.GetUtcNow();
        var settings = options.Value;
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            "DELETE FROM admin_sessions WHERE expires_at <= @now OR last_seen_at <= @idle",
            transaction,
            [("now", now), ("idle", now - settings.IdleTimeout)],
            cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            "INSERT INTO admin_sessions (id, admin, method, key_hash, created_at, last_seen_at, expires_at) VALUES (@id, @admin, @method, @key, @now, @now, @expires)",
            transaction,
            [("id", IdOf(cookie)), ("admin", admin), ("method", method), ("key", keyHash is null ? null : Convert.ToHexStringLower(keyHash)), ("now", now), ("expires", now + settings.MaxAge)],
            cancellationToken);
        // At the cap the oldest sessions go: whoever signs in now is the one at the keyboard.
        await Sql.ExecuteAsync(
            connection,
            "DELETE FROM admin_sessions WHERE id NOT IN (SELECT id FROM admin_sessions ORDER BY created_at DESC, id DESC LIMIT @cap)",
            transaction,
            [("cap", MaxLiveSessions)],
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return cookie;
    }

    // The live session this cookie stands for, its last activity refreshed; null when unknown, idle too long or too old.
    public async Task<AdminSession?> FindAsync(string cookie, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(cookie))
        {
            return null;
        }

        var id = IdOf(cookie);
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        var session = await Sql.QuerySingleOrDefaultAsync(
            connection,
            "SELECT id, admin, method, key_hash, created_at, last_seen_at, expires_at FROM admin_sessions WHERE id = @id",
            null,
            [("id", id)],
            AdminSession.Read,
            cancellationToken);
        if (session is null)
        {
            return null;
        }

        if (session.EndsAt(options.Value.IdleTimeout) <= now)
        {
            await DeleteAsync(connection, id, cancellationToken);
            return null;
        }

        if (now - session.LastSeenAt >= TouchEvery)
        {
            await Sql.ExecuteAsync(connection, "UPDATE admin_sessions SET last_seen_at = @now WHERE id = @id", null, [("now", now), ("id", id)], cancellationToken);
            session = session with { LastSeenAt = now };
        }

        return session;
    }

    public async Task RevokeAsync(string cookie, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(cookie))
        {
            return;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await DeleteAsync(connection, IdOf(cookie), cancellationToken);
    }

    // The anti-forgery token belongs to the session but cannot be turned back into its cookie; nothing extra to store.
    public static string CsrfTokenOf(string cookie) => Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes("csrf:" + cookie)));

    private static Task<int> DeleteAsync(DbConnection connection, string id, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(connection, "DELETE FROM admin_sessions WHERE id = @id", null, [("id", id)], cancellationToken);

    private static string IdOf(string cookie) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cookie)));

    // Junk cookies never reach the database.
    private static bool IsWellFormed(string cookie) =>
        cookie.Length == Base64Url.GetEncodedLength(CookieBytes) && Base64Url.IsValid(cookie);
}

internal static class AdminSignInMethods
{
    public const string Password = "password";
    public const string Key = "key";
}

internal sealed record AdminSession(string Id, string Admin, string Method, string? KeyHash, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, DateTimeOffset ExpiresAt)
{
    // Whichever comes first: the idle timeout from the last activity, or the absolute end.
    public DateTimeOffset EndsAt(TimeSpan idleTimeout) => LastSeenAt + idleTimeout < ExpiresAt ? LastSeenAt + idleTimeout : ExpiresAt;

    public static AdminSession Read(DbDataReader reader) => new(
        reader.String("id"),
        reader.String("admin"),
        reader.String("method"),
        reader.StringOrNull("key_hash"),
        reader.Time("created_at"),
        reader.Time("last_seen_at"),
        reader.Time("expires_at"));
}
