using System.Data.Common;
using System.Text.Json.Nodes;
using Gateway.Data;

namespace Gateway.Sources;

// Form profiles an admin saved in the console's Sources page, beside SOURCES_FILE: one per tool and form, checked as the
// file's are. Every instance re-reads the table at most once a second on its callers' path, so a profile saved on one
// instance maps submissions on all of them within about a second.
internal sealed partial class StoredSourceProfiles : IDisposable
{
    public const string Origin = "database";

    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly Database database;
    private readonly TimeProvider time;
    private readonly ILogger<StoredSourceProfiles> logger;
    private readonly SemaphoreSlim loading = new(1, 1);

    private volatile IReadOnlyList<SourceProfile> current = [];
    private string signature = "";
    // No re-read before the start-up load: the table is there only once the schema is migrated.
    private long nextRefresh = long.MaxValue;
    private int refreshing;

    public StoredSourceProfiles(Database database, TimeProvider time, ILogger<StoredSourceProfiles> logger)
    {
        this.database = database;
        this.time = time;
        this.logger = logger;
    }

    public IReadOnlyList<SourceProfile> Current
    {
        get
        {
            if (time.GetTimestamp() >= Interlocked.Read(ref nextRefresh) && Interlocked.CompareExchange(ref refreshing, 1, 0) == 0)
            {
                _ = RefreshInBackgroundAsync();
            }

            return current;
        }
    }

    public void Dispose() => loading.Dispose();

    public static SourceProfile Check(JsonNode? profile) => SourcesFile.ParseProfile(profile, "profile") with { Origin = Origin };

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await loading.WaitAsync(cancellationToken);
        try
        {
            List<(string Id, string Profile, long UpdatedAt)> rows;
            await using (var connection = await database.OpenAsync(cancellationToken))
            {
                rows = await Sql.QueryAsync(
                    connection,
                    "SELECT id, profile, updated_at FROM stored_source_profiles ORDER BY created_at, id",
                    null,
                    [],
                    r => (r.GetString(0), r.GetString(1), r.GetInt64(2)),
                    cancellationToken);
            }

            var seen = string.Join(";", rows.Select(r => $"{r.Id}:{r.UpdatedAt}"));
            if (seen != signature)
            {
                var profiles = new List<SourceProfile>();
                foreach (var (id, text, _) in rows)
                {
                    try
                    {
                        profiles.Add(Check(JsonNode.Parse(text)));
                    }
                    catch (Exception ex) when (ex is SourcesFileException or System.Text.Json.JsonException)
                    {
                        LogUnreadable(id, ex.Message);
                    }
                }

                current = profiles;
                signature = seen;
            }
        }
        finally
        {
            Interlocked.Exchange(ref nextRefresh, time.GetTimestamp() + (long)(RefreshInterval.TotalSeconds * time.TimestampFrequency));
            loading.Release();
        }
    }

    // Saved anew or replacing the one for the same tool and form.
    public async Task SaveAsync(SourceProfile profile, CancellationToken cancellationToken)
    {
        var now = Sql.ToUnixMilliseconds(time.GetUtcNow());
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await Sql.ExecuteAsync(
                connection,
                "INSERT INTO stored_source_profiles (id, profile, created_at, updated_at) VALUES (@id, @profile, @now, @now) " +
                "ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, updated_at = CASE WHEN excluded.updated_at > stored_source_profiles.updated_at THEN excluded.updated_at ELSE stored_source_profiles.updated_at + 1 END",
                null,
                [("id", profile.Id), ("profile", SourcesFile.ToJson(profile).ToJsonString()), ("now", now)],
                cancellationToken);
        }

        await LoadAsync(cancellationToken);
    }

    public async Task<bool> RemoveAsync(string id, CancellationToken cancellationToken)
    {
        int removed;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            removed = await Sql.ExecuteAsync(connection, "DELETE FROM stored_source_profiles WHERE id = @id", null, [("id", id)], cancellationToken);
        }

        await LoadAsync(cancellationToken);
        return removed == 1;
    }

    private async Task RefreshInBackgroundAsync()
    {
        try
        {
            await LoadAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or TimeoutException)
        {
            LogRefreshFailed(ex.GetType().Name);
        }
        finally
        {
            Volatile.Write(ref refreshing, 0);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Form profile {Id} (stored in the database) is not used: {Problem}. Save it again")]
    private partial void LogUnreadable(string id, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Form profiles stored in the database could not be re-read ({Error}); the ones in use stay in use")]
    private partial void LogRefreshFailed(string error);
}
