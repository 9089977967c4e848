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

    private readonly Database database;
    private readonly TimeProvider time;
    private readonly ILogger<StoredSourceProfiles> logger;
    private readonly StoredRows<IReadOnlyList<SourceProfile>> rows;

    public StoredSourceProfiles(Database database, TimeProvider time, ILogger<StoredSourceProfiles> logger)
    {
        this.database = database;
        this.time = time;
        this.logger = logger;
        rows = new(database, "SELECT id, profile, updated_at FROM stored_source_profiles ORDER BY created_at, id", "Form profiles", [], Build, time, logger);
    }

    public IReadOnlyList<SourceProfile> Current => rows.Current;

    public void Dispose() => rows.Dispose();

    public static SourceProfile Check(JsonNode? profile) => SourcesFile.ParseProfile(profile, "profile") with { Origin = Origin };

    public Task LoadAsync(CancellationToken cancellationToken) => rows.LoadAsync(cancellationToken);

    private List<SourceProfile> Build(IReadOnlyList<(string Key, string Text)> stored)
    {
        var profiles = new List<SourceProfile>();
        foreach (var (id, text) in stored)
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

        return profiles;
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Form profile {Id} (stored in the database) is not used: {Problem}. Save it again")]
    private partial void LogUnreadable(string id, string problem);
}
