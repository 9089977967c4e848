using System.Collections.Concurrent;
using System.Data.Common;
using System.Text.Json.Nodes;
using Gateway.Accounts;
using Gateway.Data;

namespace Gateway.Security;

internal enum StoredKeyAdd
{
    Added,
    Exists,
}

internal sealed record StoredKeyUse(string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

// API keys an admin created through /api/v1/admin/keys (the console's Keys page), beside API_KEYS_FILE. Each row is the
// entry the keys file would hold: the key's SHA-256, never the key. Every instance re-reads the table at most once a
// second on its callers' path, so a key revoked on one instance is refused by all of them within about a second.
internal sealed partial class StoredApiKeys : IDisposable
{
    private static readonly TimeSpan UseWriteInterval = TimeSpan.FromMinutes(1);

    private readonly Database database;
    private readonly AccountRegistry accounts;
    private readonly TimeProvider time;
    private readonly ILogger<StoredApiKeys> logger;
    private readonly StoredRows<IReadOnlyList<ApiKeyEntry>> rows;
    // When this instance last wrote a key's last use: at most one write a minute per key, whatever the traffic.
    private readonly ConcurrentDictionary<string, long> useWritten = new(StringComparer.Ordinal);

    public StoredApiKeys(Database database, AccountRegistry accounts, TimeProvider time, ILogger<StoredApiKeys> logger)
    {
        this.database = database;
        this.accounts = accounts;
        this.time = time;
        this.logger = logger;
        // The accounts' version too: a key naming an account added a moment ago is read again once it is known.
        rows = new(database, "SELECT name, entry, updated_at FROM stored_api_keys ORDER BY created_at, name", "API keys", [],
            stored => [.. stored.Select(r => Read(r.Key, r.Text)).OfType<ApiKeyEntry>()], time, logger, () => accounts.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public const string Origin = "database";

    public IReadOnlyList<ApiKeyEntry> Current => rows.Current;

    public void Dispose() => rows.Dispose();

    // At start-up once the schema is migrated, after every change here, then whenever a caller finds the list a second old.
    public Task LoadAsync(CancellationToken cancellationToken) => rows.LoadAsync(cancellationToken);

    // The entry as ApiKeysFile would read it; a callback (its secret) is the keys file's alone.
    public ApiKeyEntry Check(JsonObject entry)
    {
        if (entry.ContainsKey("callback_url") || entry.ContainsKey("callback_secret"))
        {
            throw new ApiKeysFileException("key.callback_url and key.callback_secret are for API_KEYS_FILE only");
        }

        var key = ApiKeysFile.ParseEntry(entry, "key", accounts.Known);
        if (ApiKeyEntry.ReservedNames.Contains(key.Name))
        {
            throw new ApiKeysFileException($"key.name \"{key.Name}\" is reserved (\"default\" is API_KEY's name, \"admin\" the admin password's)");
        }

        return key;
    }

    public async Task<StoredKeyAdd> AddAsync(JsonObject entry, ApiKeyEntry key, CancellationToken cancellationToken)
    {
        var now = Sql.ToUnixMilliseconds(time.GetUtcNow());
        int added;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            added = await Sql.ExecuteAsync(
                connection,
                "INSERT INTO stored_api_keys (name, sha256, entry, created_at, updated_at) VALUES (@name, @sha256, @entry, @now, @now) ON CONFLICT DO NOTHING",
                null,
                [("name", key.Name), ("sha256", Convert.ToHexStringLower(key.Hash)), ("entry", entry.ToJsonString()), ("now", now)],
                cancellationToken);
        }

        await LoadAsync(cancellationToken);
        return added == 1 ? StoredKeyAdd.Added : StoredKeyAdd.Exists;
    }

    public async Task<bool> RevokeAsync(string name, CancellationToken cancellationToken)
    {
        int removed;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            removed = await Sql.ExecuteAsync(connection, "DELETE FROM stored_api_keys WHERE name = @name", null, [("name", name)], cancellationToken);
        }

        useWritten.TryRemove(name, out _);
        await LoadAsync(cancellationToken);
        return removed == 1;
    }

    public async Task<Dictionary<string, StoredKeyUse>> UsesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await Sql.QueryAsync(
            connection,
            "SELECT name, created_at, last_used_at FROM stored_api_keys",
            null,
            [],
            r => new StoredKeyUse(r.GetString(0), Sql.FromUnixMilliseconds(r.GetInt64(1)), r.IsDBNull(2) ? null : Sql.FromUnixMilliseconds(r.GetInt64(2))),
            cancellationToken);
        return rows.ToDictionary(u => u.Name, StringComparer.Ordinal);
    }

    // Called on every request a stored key authenticates; writes the database at most once a minute per key.
    public void Used(ApiKeyEntry key)
    {
        var now = time.GetUtcNow();
        var nowMs = Sql.ToUnixMilliseconds(now);
        var last = useWritten.GetOrAdd(key.Name, long.MinValue);
        if (last != long.MinValue && nowMs - last < (long)UseWriteInterval.TotalMilliseconds)
        {
            return;
        }

        if (useWritten.TryUpdate(key.Name, nowMs, last))
        {
            _ = WriteUseAsync(key.Name, nowMs);
        }
    }

    private async Task WriteUseAsync(string name, long at)
    {
        try
        {
            await using var connection = await database.OpenAsync(CancellationToken.None);
            await Sql.ExecuteAsync(connection, "UPDATE stored_api_keys SET last_used_at = @at WHERE name = @name", null, [("at", at), ("name", name)], CancellationToken.None);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or TimeoutException)
        {
            // A last-used time is a hint: the next minute's use writes it again.
            useWritten.TryUpdate(name, long.MinValue, at);
            LogUseNotWritten(name, ex.GetType().Name);
        }
    }

    private ApiKeyEntry? Read(string name, string entry)
    {
        try
        {
            return JsonNode.Parse(entry) is JsonObject obj
                ? Check(obj) with { Origin = Origin }
                : throw new ApiKeysFileException("the stored entry is not an object");
        }
        catch (Exception ex) when (ex is ApiKeysFileException or System.Text.Json.JsonException)
        {
            // One key that cannot be read (its account was removed) leaves the others be.
            LogUnreadable(name, ex.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "API key {Name} (stored in the database) is not accepted: {Problem}. Revoke it and create it again")]
    private partial void LogUnreadable(string name, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "API key {Name}'s last use could not be written ({Error})")]
    private partial void LogUseNotWritten(string name, string error);
}
